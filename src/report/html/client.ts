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
  // The time a transfer took, as the README's figures say one: '340 ms', '1.2 s', '75 s'.
  function duration(ms) {
    return ms < 1000 ? num(ms) + ' ms' : (ms < 10000 ? (ms / 1000).toFixed(1) : num(Math.round(ms / 1000))) + ' s'
  }
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
  // more.sorts: the orders of the section's sort box, each a comparison of two rows, by its key.
  // more.open: what a plain click (or Enter) on an item does in place of following its link.
  // Gives what the viewer needs of the list (see viewer), or null where there is no list.
  function pager(root, rows, render, pageSize, noun, total, words, more) {
    var list = root.querySelector('[data-list]')
    // A section with nothing to list (no image in the folder) has no list and no pager.
    if (!list) return null
    var sorts = (more && more.sorts) || {}
    var sortBox = root.querySelector('select[data-sort]')
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
    // The rows in the order chosen (run order: rows), then those the filter keeps, in that order.
    var order = ''
    var sorted = rows
    var query = ''
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
      remember(key, { page: page, q: filter ? filter.value : '', sort: order, at: at })
    }
    // Ties stay in run order (the rows' own), whatever the browser's sort does with them.
    function arrange(value) {
      order = Object.prototype.hasOwnProperty.call(sorts, value) ? value : ''
      if (sortBox) sortBox.value = order
      if (!order) {
        sorted = rows
        return
      }
      if (more && more.prepare) more.prepare()
      var by = sorts[order]
      var at = rows.map(function (r, i) { return i })
      at.sort(function (a, b) { return by(rows[a], rows[b]) || a - b })
      sorted = at.map(function (i) { return rows[i] })
    }
    function search(value) {
      var q = query = value.trim().toLowerCase()
      shown = q ? sorted.filter(function (r) { return (words ? words(r) : r[0]).toLowerCase().indexOf(q) >= 0 }) : sorted
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
      var sampled = total > rows.length && query !== ''

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
      if (heard) heard.textContent = nav.hidden && query !== '' ? num(shown.length) + ' of ' + num(rows.length) + ' ' + noun + ' match.' : ''
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
    if (sortBox) {
      sortBox.addEventListener('change', function () {
        arrange(sortBox.value)
        search(filter ? filter.value : '')
        page = 0
        draw()
        // One choice, not a run of keystrokes: kept now, for a reload at once too.
        keep(null)
      })
    }
    // The item a link of the list opens (a click, Enter), to be focused again on the way back. A
    // plain click opens it in the viewer, where there is one; a new tab or window (Ctrl, Shift,
    // the middle button) still opens the file.
    list.addEventListener('click', function (event) {
      var item = event.target.closest && event.target.closest('li')
      if (!item || item.parentNode !== list) return
      var at = Array.prototype.indexOf.call(list.children, item)
      keep(at)
      if (more && more.open && event.button === 0 && !(event.ctrlKey || event.metaKey || event.shiftKey || event.altKey)) {
        event.preventDefault()
        more.open(shown[page * pageSize + at])
      }
    })
    if (kept && typeof kept.sort === 'string') arrange(kept.sort)
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
    return {
      shown: function () { return shown },
      // The item of row r, its page drawn first: where the focus goes back to from the viewer.
      reveal: function (r) {
        var at = shown.indexOf(r)
        if (at < 0) return null
        if (Math.floor(at / pageSize) !== page) {
          page = Math.floor(at / pageSize)
          draw()
        }
        return list.children[at - page * pageSize] || null
      },
      keep: function (item) { keep(item ? Array.prototype.indexOf.call(list.children, item) : null) }
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
  // The sheet's orders (the page's sort box names each key): names in natural order (img9 before
  // img10, as the hosts are), figures a row lacks last whichever the direction.
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' })
  function known(get, direction) {
    return function (a, b) {
      var x = get(a)
      var y = get(b)
      if (x === null) return y === null ? 0 : 1
      if (y === null) return -1
      return direction * (x - y)
    }
  }
  function pixels(r) { return r[3] !== null && r[4] !== null ? r[3] * r[4] : null }
  // What the viewer shows and a sort by time or status needs (each row's r.f), parsed when first
  // needed: the 10,000 URLs of a sample weigh more than the rest of the data, and a page opened
  // and paged through never needs them.
  var parsed = null
  function extras() {
    if (parsed) return parsed
    parsed = JSON.parse(document.getElementById('report-more').textContent)
    var rows = data.sheet.rows
    for (var i = 0; i < rows.length; i++) rows[i].f = parsed.figures[i]
    return parsed
  }
  var byHttp = known(function (r) { return r.f[1] }, 1)
  var SORTS = {
    name: function (a, b) { return collator.compare(base(a[0]), base(b[0])) },
    'size-down': known(function (r) { return r[2] }, -1),
    'size-up': known(function (r) { return r[2] }, 1),
    'pixels-down': known(pixels, -1),
    'pixels-up': known(pixels, 1),
    'time-down': known(function (r) { return r.f[2] }, -1),
    // Downloaded by this run, then already there; each by its answer's HTTP status.
    status: function (a, b) { return a.f[0] - b.f[0] || byHttp(a, b) }
  }

  // The viewer: a tile opened large in a modal dialog (the page behind inert), with its name and
  // figures, Previous and Next through the tiles as the filter and sort give them, across pages.
  // Opening it adds a history entry: Back closes it, as it does a phone's photo viewer; Esc, the
  // close button and a click beside the image go Back too, so no entry is left over. The entry
  // keeps the image shown: Back from its file (the viewer's link) or a reload shows it again.
  // One dialog for the page, filled anew for each image.
  function viewer(dialog, rows, list) {
    var stage = dialog.querySelector('[data-viewer-stage]')
    var at = dialog.querySelector('[data-viewer-at]')
    var file = dialog.querySelector('[data-viewer-file]')
    var title = dialog.querySelector('#viewer-name')
    var caption = dialog.querySelector('[data-viewer-caption]')
    var facts = dialog.querySelector('[data-viewer-facts]')
    var prev = dialog.querySelector('[data-viewer-prev]')
    var next = dialog.querySelector('[data-viewer-next]')
    var close = dialog.querySelector('[data-viewer-close]')
    var row = null
    // Esc and the dialog's own cancel may both come for one key: one step Back only.
    var leaving = false
    function fact(term, value) {
      var d = el('div')
      d.appendChild(el('dt', null, term))
      var dd = el('dd')
      if (typeof value === 'string') dd.textContent = value
      else dd.appendChild(value)
      d.appendChild(dd)
      facts.appendChild(d)
    }
    function show(r) {
      row = r
      var f = extras().figures[r.i]
      var words = r.length > 7 && r[7] !== null ? r[7] : ''
      var img = el('img')
      img.alt = words || base(r[0])
      img.decoding = 'async'
      img.addEventListener('error', function () {
        if (img.parentNode) img.parentNode.replaceChild(el('p', 'unseen', 'Not viewable here: this browser cannot show the file (its format), or it was moved away since the run.'), img)
      })
      img.src = href(r[0])
      stage.textContent = ''
      stage.appendChild(img)
      title.textContent = base(r[0])
      caption.textContent = words
      facts.textContent = ''
      if (r[3] !== null && r[4] !== null) fact('Dimensions', r[3] + '\\u00d7' + r[4])
      if (r[2] !== null) fact('Size', bytes(r[2]))
      if (r[5] !== null) fact('Format', r[5])
      if (f[2] !== null) fact('Time taken', duration(f[2]))
      fact('Status', (f[0] ? 'already there, from an earlier run' : 'downloaded') + (f[1] !== null ? ' (HTTP ' + f[1] + ')' : ''))
      if (r[0] !== base(r[0])) fact('File', name(el('span', null, r[0])))
      var u = extras()
      var one = u.urls[r.i] || [-1, '', null]
      var whole = (one[0] >= 0 ? u.origins[one[0]] : '') + one[1]
      var address = link(one[2] === 1 ? whole : one[2], whole)
      address.dir = 'ltr'
      if (address.href) address.rel = 'noreferrer'
      fact('URL', address)
      if (r[6] !== null) fact('Photo by', name(link(data.credits[r[6]][2], data.credits[r[6]][1])))
      file.href = href(r[0])
      var all = list.shown()
      var i = all.indexOf(r)
      at.textContent = i < 0 ? '' : num(i + 1) + ' of ' + num(all.length)
      // A button pressed and disabled at the first or last image would drop the focus to the document.
      var had = document.activeElement
      prev.disabled = i <= 0
      next.disabled = i < 0 || i >= all.length - 1
      if (had === prev && prev.disabled) next.focus()
      if (had === next && next.disabled) prev.focus()
    }
    function open(r, push) {
      show(r)
      leaving = false
      if (!dialog.open) {
        document.documentElement.classList.add('viewing')
        dialog.showModal()
        close.focus()
      }
      if (!push) return remember('view', r.i)
      var state = {}
      var old = history.state
      if (old && typeof old === 'object') for (var k in old) state[k] = old[k]
      state.view = r.i
      try { history.pushState(state, '') } catch (e) { /* the page as it is: Esc still closes */ }
    }
    // Closed: the tile of the image last shown focused, on its page, and kept for Back and reload.
    function finish() {
      leaving = false
      if (!dialog.open) return
      dialog.close()
      document.documentElement.classList.remove('viewing')
      stage.textContent = ''
      var item = row && list.reveal(row)
      var a = item && item.querySelector('a')
      if (a) {
        a.focus()
        list.keep(item)
      }
      row = null
    }
    function shut() {
      if (leaving) return
      var state = history.state
      if (state && typeof state.view === 'number') {
        leaving = true
        history.back()
      } else finish()
    }
    function step(by) {
      var all = list.shown()
      var i = row ? all.indexOf(row) + by : -1
      if (i >= 0 && i < all.length) open(all[i], false)
    }
    prev.addEventListener('click', function () { step(-1) })
    next.addEventListener('click', function () { step(1) })
    close.addEventListener('click', shut)
    dialog.addEventListener('cancel', function (event) {
      event.preventDefault()
      shut()
    })
    // Beside the image: the dialog's own box, or the stage around the image.
    dialog.addEventListener('click', function (event) {
      if (event.target === dialog || event.target === stage) shut()
    })
    dialog.addEventListener('keydown', function (event) {
      if (event.key === 'Escape') {
        event.preventDefault()
        shut()
      } else if ((event.key === 'ArrowLeft' || event.key === 'ArrowRight') && !event.altKey) {
        event.preventDefault()
        step(event.key === 'ArrowLeft' ? -1 : 1)
      } else if (event.key === 'Tab') {
        // Round the dialog's controls, never out to the browser's address bar and back.
        var stops = dialog.querySelectorAll('a[href], button:not(:disabled)')
        var first = stops[0]
        var last = stops[stops.length - 1]
        var inside = dialog.contains(document.activeElement)
        if (!inside || (event.shiftKey ? document.activeElement === first : document.activeElement === last)) {
          event.preventDefault()
          ;(event.shiftKey ? last : first).focus()
        }
      }
    })
    // Back closes it; Forward opens the image again.
    window.addEventListener('popstate', function (event) {
      var state = event.state
      var r = state && typeof state.view === 'number' ? rows[state.view] : null
      if (r) open(r, false)
      else finish()
    })
    return { open: open }
  }

  var shows = null
  if (sheet && data.sheet) {
    var rows = data.sheet.rows
    for (var ri = 0; ri < rows.length; ri++) {
      rows[ri].i = ri
    }
    var dialog = document.getElementById('viewer')
    var sheetList = pager(sheet, rows, tile, data.pageSize, 'images', data.sheet.total, tileWords, {
      sorts: SORTS,
      prepare: extras,
      open: dialog && dialog.showModal ? function (r) { shows.open(r, true) } : null
    })
    if (sheetList && dialog && dialog.showModal) {
      shows = viewer(dialog, rows, sheetList)
      var was = history.state
      if (was && typeof was.view === 'number' && rows[was.view]) shows.open(rows[was.view], false)
    }
  }
  var credits = document.getElementById('attribution')
  if (credits && data.credits) pager(credits, data.credits, credit, data.creditsPageSize, 'photos')
  // The failures' order (see the page's FAILURE_SORT): the groups by count as written, or by code;
  // each group's hosts by count as written, or by name. Kept for Back and reload as the rest is.
  var failureSort = document.querySelector('select[data-failure-sort]')
  var groupBox = document.querySelector('#failures .groups')
  if (failureSort && groupBox) {
    var written = Array.prototype.slice.call(groupBox.children)
    var bodies = written.map(function (d) {
      var body = d.querySelector('tbody')
      return body ? Array.prototype.slice.call(body.children) : []
    })
    var hostOf = function (tr) { return tr.firstElementChild ? tr.firstElementChild.textContent : '' }
    var sortFailures = function () {
      var value = failureSort.value
      var order = written.slice()
      if (value === 'code') order.sort(function (a, b) { return collator.compare(a.getAttribute('data-code'), b.getAttribute('data-code')) })
      for (var i = 0; i < order.length; i++) groupBox.appendChild(order[i])
      for (var j = 0; j < written.length; j++) {
        var hosts = bodies[j].slice()
        if (value === 'host') hosts.sort(function (a, b) { return collator.compare(hostOf(a), hostOf(b)) })
        for (var h = 0; h < hosts.length; h++) hosts[h].parentNode.appendChild(hosts[h])
      }
    }
    failureSort.closest('[data-failure-tools]').hidden = false
    var sortedBefore = recalled('failureSort')
    if (typeof sortedBefore === 'string') {
      failureSort.value = sortedBefore
      sortFailures()
    }
    failureSort.addEventListener('change', function () {
      sortFailures()
      remember('failureSort', failureSort.value)
    })
  }
  document.documentElement.setAttribute('data-ready', 'true')
})()
`
