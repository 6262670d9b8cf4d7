/**
 * The page's only script, inline: it reads the embedded data once and draws the paged lists (the
 * contact sheet, the credits), so a 100,000-image run puts one page of tiles in the document,
 * never all of them. Text goes in through `textContent` and addresses through properties: nothing
 * from the data is parsed as HTML. Plain ES2017, no modules, so it runs from file:// anywhere.
 */
export const CLIENT_SCRIPT = `(function () {
  'use strict'
  var data = JSON.parse(document.getElementById('report-data').textContent)
  var UNITS = ['B', 'kB', 'MB', 'GB', 'TB']
  function bytes(n) {
    var i = 0
    while (n >= 1000 && i < UNITS.length - 1) { n /= 1000; i++ }
    return (i === 0 ? n : n.toFixed(1)) + ' ' + UNITS[i]
  }
  function num(n) { return n.toLocaleString('en-US') }
  function href(path) { return path.replace(/^\\/+/, '').split('/').map(encodeURIComponent).join('/') }
  function base(path) { return path.slice(path.lastIndexOf('/') + 1) }
  function el(tag, className, text) {
    var e = document.createElement(tag)
    if (className) e.className = className
    if (text !== undefined) e.textContent = text
    return e
  }
  function link(url, text, className) {
    if (!url) return el('span', className, text)
    var a = el('a', className, text)
    a.href = url
    return a
  }

  // A name from outside (a photographer's) in a sentence of the page's own: its direction is its
  // own, and isolated (dir makes the element a bidi isolate), so an RLO in it (U+202E) reverses
  // the name alone, never the words after it ("Photo by X on Unsplash").
  function name(e) {
    e.dir = 'auto'
    return e
  }

  // What the reader changed (a page of the sheet, a filter, a group opened), kept in this history
  // entry's state: a tile or an example's link opens in place of the report, and Chromium keeps no
  // page from file:// in its back-forward cache, so Back ran the script again on the page as written.
  function remember(key, value) {
    var state = {}
    var old = history.state
    if (old && typeof old === 'object') for (var k in old) state[k] = old[k]
    state[key] = value
    try { history.replaceState(state, '') } catch (e) { /* a browser refusing it: the page as written */ }
  }
  function recalled(key) {
    return (history.state && typeof history.state === 'object' && history.state[key]) || null
  }

  var times = document.querySelectorAll('time[data-local]')
  for (var i = 0; i < times.length; i++) {
    var at = new Date(times[i].getAttribute('datetime'))
    if (!isNaN(at.getTime())) times[i].textContent = at.toLocaleString()
  }

  // total: how many there are when rows are a sample of them; a filter searches the sample only,
  // so what it finds (or does not) is said of the sample, not of the folder.
  // words: what the filter searches in a row (its file name unless said).
  function pager(root, rows, render, pageSize, noun, total, words) {
    var list = root.querySelector('[data-list]')
    // A section with nothing to list (no image in the folder) has no list and no pager.
    if (!list) return
    var nav = root.querySelector('[data-pager]')
    var status = root.querySelector('[data-status]')
    var prev = root.querySelector('[data-prev]')
    var next = root.querySelector('[data-next]')
    var filter = root.querySelector('input[type=search]')
    // What the filter found, said to a screen reader where the pager, hidden in a sheet of one
    // page, does not say it: the tiles narrowed without a word.
    var heard = root.querySelector('[data-heard]')
    // What the page hides for a reader without scripts: the filter and the how-to.
    root.querySelectorAll('[data-scripted]').forEach(function (e) { e.hidden = false })
    var shown = rows
    var page = 0
    // Where the reader is (the page, the filter, the item last opened): Back from a tile's file
    // drew the first page, unfiltered, with the focus at the top of the document.
    var key = root.id
    var kept = recalled(key)
    // Chromium refuses more than 200 state changes in 10 s (a warning each): a run of keystrokes
    // or pages is kept once it pauses.
    var pending = 0
    function keepSoon() {
      clearTimeout(pending)
      pending = setTimeout(function () { keep(null) }, 300)
    }
    function keep(at) {
      clearTimeout(pending)
      remember(key, { page: page, q: filter ? filter.value : '', at: at })
    }
    function search(value) {
      var q = value.trim().toLowerCase()
      shown = q ? rows.filter(function (r) { return (words ? words(r) : r[0]).toLowerCase().indexOf(q) >= 0 }) : rows
    }
    function draw() {
      var pages = Math.max(1, Math.ceil(shown.length / pageSize))
      page = Math.min(Math.max(0, page), pages - 1)
      var from = page * pageSize
      var to = Math.min(shown.length, from + pageSize)
      var fragment = document.createDocumentFragment()
      for (var i = from; i < to; i++) fragment.appendChild(render(shown[i]))
      list.textContent = ''
      list.appendChild(fragment)
      var sampled = total > rows.length && shown !== rows
      status.textContent = shown.length === 0
        ? (sampled
          ? 'No ' + noun + ' of the sample of ' + num(rows.length) + ' match: the folder holds ' + num(total) + ', all in manifest.jsonl.'
          : 'No ' + noun + ' match.')
        : num(from + 1) + '\\u2013' + num(to) + ' of ' + num(shown.length) + (sampled ? ' in the sample' : '') + ' \\u00b7 page ' + num(page + 1) + ' of ' + num(pages)
      prev.disabled = page === 0
      next.disabled = page >= pages - 1
      // Buttons for more than one page only (a filter that finds a few or none had two greyed
      // ones around its words); the words whenever there is something to say: a sheet of one
      // page has no pager, and a filter that found nothing in it left an empty space, unexplained.
      prev.hidden = next.hidden = pages <= 1
      nav.hidden = rows.length <= pageSize && shown.length > 0
      if (heard) heard.textContent = nav.hidden && shown !== rows ? num(shown.length) + ' of ' + num(rows.length) + ' ' + noun + ' match.' : ''
      keepSoon()
    }
    // The pager is below the list: a new page whose top is above the window (a phone, 16 rows of
    // tiles) is brought into view, else the reader lands on its last rows.
    // The button pressed is disabled on the first or last page, which drops the focus to the
    // document (a keyboard or screen reader's place lost): it goes to the other one, beside it.
    function turn(by) {
      var pressed = by > 0 ? next : prev
      var had = document.activeElement === pressed
      page += by
      draw()
      if (had && pressed.disabled) (by > 0 ? prev : next).focus({ preventScroll: true })
      if (list.getBoundingClientRect().top < 0) list.scrollIntoView({ block: 'start' })
    }
    prev.addEventListener('click', function () { turn(-1) })
    next.addEventListener('click', function () { turn(1) })
    if (filter) {
      filter.addEventListener('input', function () {
        search(filter.value)
        page = 0
        draw()
      })
    }
    // The item a link of the list opens (a click, Enter), to be focused again on the way back.
    list.addEventListener('click', function (event) {
      var item = event.target.closest && event.target.closest('li')
      if (item && item.parentNode === list) keep(Array.prototype.indexOf.call(list.children, item))
    })
    if (kept) {
      if (filter && typeof kept.q === 'string') {
        filter.value = kept.q
        search(kept.q)
      }
      if (typeof kept.page === 'number') page = kept.page
    }
    draw()
    var back = kept && typeof kept.at === 'number' && list.children[kept.at]
    var target = back && back.querySelector('a')
    if (target) {
      target.focus()
      keep(kept.at)
    }
  }

  function tile(r) {
    var li = el('li')
    var a = el('a', 'tile')
    a.href = href(r[0])
    // The whole name on hover, where the caption cuts a long one with an ellipsis.
    a.title = r[0]
    var img = el('img')
    // A row's caption (--caption-col) is the image's text: a screen reader says it, and a browser
    // shows it where the image cannot be. Without one, the tile's name says what it is.
    var caption = r.length > 7 ? r[7] : null
    img.alt = caption === null ? '' : caption
    img.loading = 'lazy'
    img.decoding = 'async'
    // A format the browser cannot show (TIFF, HEIC, JPEG 2000...) or a file gone since: said in
    // words at the top of the tile, above its caption (always shown then), never under it.
    // The caption, said as the image's alt text, goes with the image: the tile's line of it is
    // then what a screen reader says (it said the name and figures alone).
    var said = null
    img.addEventListener('error', function () {
      a.classList.add('missing')
      if (img.parentNode) img.parentNode.replaceChild(el('span', 'unseen', 'not viewable here'), img)
      if (said) said.removeAttribute('aria-hidden')
    })
    img.src = href(r[1] || r[0])
    var cap = el('span', 'cap')
    cap.appendChild(el('span', 'name', base(r[0])))
    if (caption !== null) {
      // Two lines at most, the whole on hover; in its own direction, isolated (a right-to-left
      // caption, or a U+202E in one, never reorders the name and figures around it); said once,
      // as the image's alt text, not again as the tile's words.
      said = name(el('span', 'caption', caption))
      said.title = caption
      said.setAttribute('aria-hidden', 'true')
      cap.appendChild(said)
    }
    var meta = []
    if (r[3] !== null && r[4] !== null) meta.push(r[3] + '\\u00d7' + r[4])
    if (r[2] !== null) meta.push(bytes(r[2]))
    if (r[5] !== null) meta.push(r[5])
    // Each figure whole on its line (a narrow tile put '1.2' on one and 'kB' on the next): the
    // lines break between them only.
    if (meta.length) {
      var line = el('span', 'meta')
      for (var m = 0; m < meta.length; m++) {
        if (m) line.appendChild(document.createTextNode(' \\u00b7 '))
        line.appendChild(el('span', null, meta[m]))
      }
      cap.appendChild(line)
    }
    if (r[6] !== null) {
      var by = el('span', 'by', 'Photo by ')
      by.appendChild(name(el('bdi', null, data.credits[r[6]][1])))
      cap.appendChild(by)
    }
    a.appendChild(img)
    a.appendChild(cap)
    li.appendChild(a)
    return li
  }

  function credit(r) {
    var li = el('li')
    li.appendChild(document.createTextNode('Photo by '))
    li.appendChild(name(link(r[2], r[1])))
    li.appendChild(document.createTextNode(' on '))
    li.appendChild(link(r[3], 'Unsplash'))
    li.appendChild(link(href(r[0]), r[0], 'file'))
    return li
  }

  // On paper a closed group is its summary line alone: every one is printed open, and the ones the
  // reader had closed are closed again after.
  var closed = []
  window.addEventListener('beforeprint', function () {
    var all = document.querySelectorAll('details:not([open])')
    for (var i = 0; i < all.length; i++) {
      all[i].open = true
      closed.push(all[i])
    }
  })
  window.addEventListener('afterprint', function () {
    for (var i = 0; i < closed.length; i++) closed[i].open = false
    closed = []
  })

  // A link to a failure group (the summary's causes, or an address with #failure-3) opens it: a
  // closed one was its summary line alone, the examples still hidden where the link led.
  function openTarget() {
    var target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)))
    var group = target && target.closest('details')
    if (group) group.open = true
  }
  window.addEventListener('hashchange', openTarget)

  // The groups the reader opened or closed, as left: Back from an example's URL closed a group
  // opened past the third, and the scroll put back over the shorter page landed elsewhere.
  var groups = document.querySelectorAll('details')
  var opened = recalled('details')
  if (opened && opened.length === groups.length)
    for (var g = 0; g < groups.length; g++) groups[g].open = opened[g] === 1
  var noted = 0
  document.addEventListener('toggle', function () {
    // Printing opens every group and closes them again: the state kept is the one after.
    clearTimeout(noted)
    noted = setTimeout(function () {
      remember('details', Array.prototype.map.call(groups, function (d) { return d.open ? 1 : 0 }))
    }, 0)
  }, true)
  openTarget()

  var sheet = document.getElementById('images')
  // A tile is found by its name, its row's caption (a table's --caption-col: "red bicycle") or its
  // photographer (an Unsplash collection: "every photo by Ansel").
  function tileWords(r) {
    var words = r[0]
    if (r.length > 7 && r[7] !== null) words += '\\n' + r[7]
    if (r[6] !== null) words += '\\n' + data.credits[r[6]][1]
    return words
  }
  if (sheet && data.sheet) pager(sheet, data.sheet.rows, tile, data.pageSize, 'images', data.sheet.total, tileWords)
  var credits = document.getElementById('attribution')
  if (credits && data.credits) pager(credits, data.credits, credit, data.creditsPageSize, 'photos')
  document.documentElement.setAttribute('data-ready', 'true')
})()
`
