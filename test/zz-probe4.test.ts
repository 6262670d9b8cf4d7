/// <reference lib="dom" />
import { mkdir } from 'node:fs/promises'
import { test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { type ReportItem, writeReport } from '../src/report/html/index.js'
import { launchBrowser, watch } from './support/browser.js'

test('probe hosts', async () => {
  const browser = await launchBrowser()
  const out = '/var/tmp/h348/v6'
  await mkdir(out, { recursive: true })
  const hosts = ['http://[2001:db8:85a3:1234:5678:8a2e:370:7334]:8080', 'https://xn--' + 'a'.repeat(59) + '-' + 'b'.repeat(40) + '.com', 'https://very-long-subdomain-name-for-cdn-assets-production-eu-west-1.s3.amazonaws.com']
  const items: ReportItem[] = []
  hosts.forEach((host, h) => { for (let i = 0; i < 3; i++) items.push({ url: `${host}/img/${i}.jpg`, host, status: 'failed', error: i ? 'timeout' : 'http-404', httpStatus: 404, message: `HTTP 404 from ${host}/img/${i}.jpg`, attempts: 1, finishedAt: h * 10 + i }) })
  const samples = hosts.map((host) => ({ host, t: 100, active: 1, limit: 4 }))
  const path = await writeReport(out, { title: 't', startedAt: 0, endedAt: 1000, interrupted: false, items, samples: samples as never })
  for (const vp of [{ width: 1280, height: 900 }, { width: 360, height: 700 }]) {
    const page = await browser.open(vp)
    const log = watch(page)
    await page.goto(pathToFileURL(path).href)
    await page.waitForSelector('html[data-ready]')
    await page.evaluate(() => document.querySelectorAll('details').forEach((d) => { (d as HTMLDetailsElement).open = true }))
    const r = await page.evaluate(() => {
      const cw = document.documentElement.clientWidth
      const boxes = [...document.querySelectorAll('.table-wrap, figure, .chart')].map((w) => [w.className, w.clientWidth, w.scrollWidth]).filter(([, a, b]) => (b as number) > (a as number) + 1)
      return { sw: document.documentElement.scrollWidth, cw, boxes }
    })
    console.log(vp.width, JSON.stringify(r), log.errors)
    await page.screenshot({ path: `${out}/s${vp.width}.png`, fullPage: true })
    await page.close()
  }
  await browser.close()
})
