/// <reference lib="dom" />
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { pathToFileURL } from 'node:url'
import sharp from 'sharp'
import { type ReportItem, writeReport } from '../src/report/html/index.js'
import { launchBrowser, watch } from './support/browser.js'

const png = (i: number) => sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 255, g: (i * 37) % 256, b: 0 } } }).png().toBuffer()
test('probe saved', async () => {
  const browser = await launchBrowser()
  const out = '/var/tmp/h348/saved'
  await mkdir(out, { recursive: true })
  const items: ReportItem[] = []
  for (let i = 0; i < 60; i++) {
    const name = `p${i}.png`
    await writeFile(join(out, name), await png(i))
    items.push({ url: `https://h.example/${name}`, host: 'https://h.example', status: 'ok', path: name, bytes: 100, width: 64, height: 48, format: 'png', attempts: 1, finishedAt: 1 })
  }
  items.push({ url: `https://h.example/f`, host: 'https://h.example', status: 'failed', error: 'http-404', attempts: 1, finishedAt: 2 })
  const path = await writeReport(out, { title: 't', startedAt: 0, endedAt: 1000, interrupted: false, items, samples: [] })
  const page = await browser.open()
  const log = watch(page)
  await page.goto(pathToFileURL(path).href)
  await page.waitForSelector('html[data-ready]')
  await page.locator('#images input[type=search]').fill('p1')
  const count = (p: typeof page) => p.evaluate(() => ({ tiles: document.querySelectorAll('.sheet .tile').length, pagers: document.querySelectorAll('.pager, [data-pager]').length, inputs: document.querySelectorAll('input[type=search]').length, selects: document.querySelectorAll('select').length, dialogs: document.querySelectorAll('dialog').length, ids: (() => { const seen = new Set(); const d: string[] = []; document.querySelectorAll('[id]').forEach((e) => { if (seen.has(e.id)) d.push(e.id); seen.add(e.id) }); return d })() }))
  console.log('live', JSON.stringify(await count(page)))
  const html = await page.evaluate(() => `<!DOCTYPE html>\n${document.documentElement.outerHTML}`)
  await writeFile(join(out, 'saved.html'), html)
  const p2 = await browser.open()
  const log2 = watch(p2)
  await p2.goto(pathToFileURL(join(out, 'saved.html')).href)
  await p2.waitForSelector('html[data-ready]')
  await p2.waitForTimeout(500)
  console.log('saved', JSON.stringify(await count(p2)), log.errors, log2.errors)
  await p2.screenshot({ path: join(out, 'saved.png'), fullPage: true })
  await p2.locator('.sheet .tile').nth(2).click()
  await p2.locator('#viewer[open]').waitFor({ timeout: 3000 }).catch((e) => console.log('noviewer', e.message.split('\n')[0]))
  console.log('saved2', log2.errors)
  await browser.close()
})
