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
  // A place is kept with the page's version (a digest of its rows and examples): an entry kept of
  // the page before a rerun or imgpull report rewrote it names rows by their place in that one, and a
  // reload showed the image now at that place in the viewer, another one (as a table keeping its
  // selection by row index selects others once its rows change, TanStack/table#3987). Such an entry
  // is the page as it opens.
  var version = document.documentElement.getAttribute('data-version')
  function ours(state) {
    return state && typeof state === 'object' && state.version === version ? state : null
  }
  // The entry's state with key set to value (a fresh one where the entry is not of this page).
  function withKept(key, value) {
    var state = { version: version }
    var old = ours(history.state)
    if (old) for (var k in old) state[k] = old[k]
    state[key] = value
    return state
  }
  function remember(key, value) {
    try { history.replaceState(withKept(key, value), '') } catch (e) { /* a browser refusing it: the page as written */ }
  }
  function recalled(key) {
    var state = ours(history.state)
    return (state && state[key]) || null
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
    // A row's words as the filter compares them, worked out once a row: composed (NFC) and in
    // lower case, as the query is. A name from a Mac is decomposed (e + U+0301), the é a keyboard
    // types is one character: compared as written, one never found the other (zed-industries/zed#30503).
    // A Turkish capital İ is lower-cased as i and a combining dot above: that dot is dropped, so
    // "izmir" finds "İzmir" (running-coder/jquery-typeahead#240, 4gray/iptvnator#609).
    // Marks that show nothing (a soft hyphen, zero-width spaces and joiners, a word joiner, a BOM)
    // are dropped, and every space is a space (a no-break space from HTML, Option-Space on a
    // Mac): a caption hyphenated for narrow screens was not found by its word (julkue/mark.js#69,
    // contao/core#8389).
    var folded = new WeakMap()
    var unseen = /[\\u00ad\\u200b-\\u200d\\u2060\\ufeff]|[^\\S ]/
    function fold(text) {
      var t = text.normalize('NFC').toLowerCase().replace(/i\u0307/g, 'i')
      return unseen.test(t) ? t.replace(/[\\u00ad\\u200b-\\u200d\\u2060\\ufeff]/g, '').replace(/\\s/g, ' ') : t
    }
    function hay(r) {
      var h = folded.get(r)
      if (h === undefined) folded.set(r, (h = fold(words ? words(r) : r[0])))
      return h
    }
    function search(value) {
      var q = query = fold(value.trim())
      shown = q ? sorted.filter(function (r) { return hay(r).indexOf(q) >= 0 }) : sorted
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

  function groupsOf() { return document.querySelector('#failures .groups') }

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
    img.addEventListener('load', shown)
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
  // closed one was its summary line alone, the examples still hidden where the link led. A fragment
  // that is no valid percent-encoding (#100%, a link cut by hand or by a chat app) is taken as it is:
  // decodeURIComponent threw a URIError there, which stopped the whole script as the page opened, no
  // tile drawn (as ampproject/amphtml#10203 and MithrilJS/mithril.js#2060 broke pages).
  function fragment() {
    var raw = location.hash.slice(1)
    try { return decodeURIComponent(raw) } catch (e) { return raw }
  }
  function openTarget() {
    var target = location.hash && document.getElementById(fragment())
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

  // The viewer: an item opened over the page in a modal dialog (the page behind inert): a tile
  // large, with its name and figures, or a failure's whole story. Previous and Next go through the
  // items as the list gives them (the sheet's filter and sort, across pages; the failures' sort).
  // Opening it adds a history entry (its state's how.key, the row's index): Back closes it, as it
  // does a phone's photo viewer; Esc, the close button and a click beside it go Back too, so no
  // entry is left over. The entry keeps the item shown: Back from its file or a reload shows it
  // again. One dialog for the page, filled anew for each item by how.fill(r, fact).
  // list: shown() the rows in order; back(r) puts the focus back on r's item, its page drawn.
  // how.row(i): the row of index i (none: null); how.beside: what a click on closes it, with the dialog.
  function viewer(dialog, list, how) {
    var at = dialog.querySelector('[data-viewer-at]')
    var facts = dialog.querySelector('[data-viewer-facts]')
    var prev = dialog.querySelector('[data-viewer-prev]')
    var next = dialog.querySelector('[data-viewer-next]')
    var close = dialog.querySelector('[data-viewer-close]')
    var key = how.key
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
      facts.textContent = ''
      how.fill(r, fact)
      var all = list.shown()
      var i = all.indexOf(r)
      at.textContent = i < 0 ? '' : num(i + 1) + ' of ' + num(all.length)
      // A button pressed and disabled at the first or last item would drop the focus to the document.
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
      if (!push) return remember(key, r.i)
      try { history.pushState(withKept(key, r.i), '') } catch (e) { /* the page as it is: Esc still closes */ }
    }
    // Closed: the item last shown focused, on its page, and kept for Back and reload.
    function finish() {
      leaving = false
      if (!dialog.open) return
      dialog.close()
      document.documentElement.classList.remove('viewing')
      if (how.clear) how.clear()
      var last = row
      row = null
      if (!last) return
      list.back(last)
      // Back to an entry whose address has a fragment (#failure-2: a link of the page followed
      // before) scrolls to its target after this, and Chromium then drops the focus to the
      // document when the target cannot take it: the reader's place lost. Given again once it has.
      if (location.hash) {
        requestAnimationFrame(function () {
          setTimeout(function () {
            if (!dialog.open && (document.activeElement === document.body || !document.activeElement)) list.back(last)
          }, 0)
        })
      }
    }
    function shut() {
      if (leaving) return
      var state = ours(history.state)
      if (state && typeof state[key] === 'number') {
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
    // Beside the item: the dialog's own box, or the stage around the image.
    dialog.addEventListener('click', function (event) {
      if (event.target === dialog || (how.beside && event.target === how.beside)) shut()
    })
    dialog.addEventListener('keydown', function (event) {
      if (event.key === 'Escape') {
        event.preventDefault()
        shut()
      } else if ((event.key === 'ArrowLeft' || event.key === 'ArrowRight') && !(event.altKey || event.ctrlKey || event.metaKey || event.shiftKey)) {
        // A plain arrow only: Alt- and Cmd-Left are Back, Shift and Ctrl select text (lightGallery#1733).
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
    // Back closes it; Forward opens the item again.
    window.addEventListener('popstate', function (event) {
      var state = ours(event.state)
      var r = state && typeof state[key] === 'number' ? how.row(state[key]) : null
      if (r) open(r, false)
      else finish()
    })
    // Opened from the history entry (a reload, Back from the file it linked to).
    var was = ours(history.state)
    var then = was && typeof was[key] === 'number' ? how.row(was[key]) : null
    if (then) open(then, false)
    return { open: open }
  }

  // A loaded image on a grey checkerboard, as image editors show transparency: a black logo on
  // transparent lay unseen on the viewer's near-black and a dark tile, a white one on a light tile
  // (immich-app/immich#26091). Only once loaded: a tile still loading is the tile's own colour.
  function shown() { this.classList.add('shown') }

  // A tile's fill of the viewer: the file itself, scaled to the window, its name, caption and
  // figures, its URL, and a link that opens the file.
  function imageFill(dialog) {
    var stage = dialog.querySelector('[data-viewer-stage]')
    var file = dialog.querySelector('[data-viewer-file]')
    var title = dialog.querySelector('#viewer-name')
    var caption = dialog.querySelector('[data-viewer-caption]')
    return {
      key: 'view',
      beside: stage,
      clear: function () { stage.textContent = '' },
      fill: function (r, fact) {
        var f = extras().figures[r.i]
        var words = r.length > 7 && r[7] !== null ? r[7] : ''
        var img = el('img')
        img.alt = words || base(r[0])
        img.decoding = 'async'
        img.addEventListener('load', shown)
        img.addEventListener('error', function () {
          if (img.parentNode) img.parentNode.replaceChild(el('p', 'unseen', 'Not viewable here: this browser cannot show the file (its format), or it was moved away since the run.'), img)
        })
        img.src = href(r[0])
        stage.textContent = ''
        stage.appendChild(img)
        title.textContent = base(r[0])
        caption.textContent = words
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
      }
    }
  }

  // Text to the clipboard, where the page may write it (a click gives it the right), else selected
  // in node for Ctrl-C: said in words either way, in said (a live region).
  function copy(text, node, said) {
    function selectIt() {
      var range = document.createRange()
      range.selectNodeContents(node)
      var selection = window.getSelection()
      selection.removeAllRanges()
      selection.addRange(range)
      said.textContent = 'Selected: press Ctrl-C (\\u2318-C) to copy.'
    }
    said.textContent = ''
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () { said.textContent = 'Copied.' }, selectIt)
    } else selectIt()
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
      var tiles = {
        shown: sheetList.shown,
        back: function (r) {
          var item = sheetList.reveal(r)
          var a = item && item.querySelector('a')
          if (a) {
            a.focus()
            sheetList.keep(item)
          }
        }
      }
      var fill = imageFill(dialog)
      fill.row = function (i) { return rows[i] || null }
      shows = viewer(dialog, tiles, fill)
    }
  }
  var credits = document.getElementById('attribution')
  if (credits && data.credits) pager(credits, data.credits, credit, data.creditsPageSize, 'photos')
  // The failures' order (see the page's FAILURE_SORT): the groups by count as written, or by code;
  // each group's hosts by count as written, or by name. Kept for Back and reload as the rest is.
  var failureSort = document.querySelector('select[data-failure-sort]')
  var groupBox = groupsOf()
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
  // A failure's whole story (the failure viewer): its example's URL and message as the table
  // writes them, the rest of what the journal has of it from its block (see the page's
  // shownStories), parsed when a failure is first opened. Previous and Next go through the examples
  // as the failures' sort puts them, closed groups too; closed, the focus goes back to its button,
  // its group opened.
  var failureDialog = document.getElementById('failure-viewer')
  if (failureDialog && failureDialog.showModal && groupsOf()) {
    var stories = null
    var storyRows = function () {
      if (stories) return stories
      stories = JSON.parse(document.getElementById('report-failures').textContent)
      for (var si = 0; si < stories.length; si++) stories[si].i = si
      return stories
    }
    var exampleOf = function (r) { return document.querySelector('#failures li[data-failure="' + r.i + '"]') }
    var failureList = {
      shown: function () {
        var all = storyRows()
        return Array.prototype.map.call(document.querySelectorAll('#failures li[data-failure]'), function (li) {
          return all[Number(li.getAttribute('data-failure'))]
        })
      },
      back: function (r) {
        var li = exampleOf(r)
        if (!li) return
        var group = li.closest('details')
        if (group) group.open = true
        li.querySelector('[data-failure-open]').focus()
      }
    }
    var storyTitle = failureDialog.querySelector('#failure-name')
    var storyMessage = failureDialog.querySelector('[data-viewer-caption]')
    var copyButton = failureDialog.querySelector('[data-copy-url]')
    var copied = failureDialog.querySelector('[data-copied]')
    var storyUrl = null
    var RERUN = {
      passing: 'passing: a rerun of the same command tries it again',
      permanent: 'permanent: a rerun skips it unless --retry-failed is added',
      'mend the input': 'the input\\u2019s own: every run fails it again until the input is mended',
      'change the links': 'a sharing site\\u2019s page: the link its message names gives the file'
    }
    var failures = viewer(failureDialog, failureList, {
      key: 'failure',
      row: function (i) { return storyRows()[i] || null },
      fill: function (r, fact) {
        var li = exampleOf(r)
        var group = li.closest('details')
        var tr = li.closest('tr')
        var host = tr && tr.querySelector('th')
        var shownUrl = li.querySelector('code')
        var address = li.querySelector('a')
        var said = li.querySelector('.msg')
        var meaning = group.querySelector('.meaning')
        storyTitle.textContent = group.getAttribute('data-code')
        storyMessage.textContent = said ? said.textContent : ''
        if (meaning) fact('Meaning', meaning.textContent)
        var url = link(address ? address.href : null, shownUrl.textContent)
        url.dir = 'ltr'
        if (url.href) url.rel = 'noreferrer'
        storyUrl = url
        fact('URL', url)
        if (host) {
          var named = el('span', null, host.textContent)
          var ascii = host.querySelector('[title]')
          if (ascii) named.title = ascii.getAttribute('title')
          fact('Host', named)
        }
        if (r.finalUrl) {
          var final = el('span', null, r.finalUrl)
          final.dir = 'ltr'
          fact('Redirected to', final)
        }
        if (r.httpStatus !== undefined) fact('HTTP status', String(r.httpStatus))
        fact('Attempts', num(r.attempts) + (r.attempts === 0 ? ' (no request could be made)' : ''))
        if (r.answers) {
          fact('Answers', r.answers.map(function (a) { return 'HTTP ' + a[0] + ' \\u00d7' + num(a[1]) }).join(', '))
        }
        if (r.ttfb !== undefined) fact('First byte', duration(r.ttfb) + ' (the last attempt)')
        if (r.total !== undefined) fact('Time taken', duration(r.total) + ' (every attempt)')
        if (r.finishedAt !== undefined) fact('Failed at', new Date(r.finishedAt).toLocaleString())
        if (r.otherInput) fact('Rerun', 'left by another input run into this folder: a rerun of this command does not read it')
        else fact('Rerun', (RERUN[r.kind] || r.kind) + (r.failedBefore ? '; failed in an earlier run, skipped by this one' : ''))
        copied.textContent = ''
      }
    })
    copyButton.addEventListener('click', function () {
      if (storyUrl) copy(storyUrl.textContent, storyUrl, copied)
    })
    document.getElementById('failures').addEventListener('click', function (event) {
      var button = event.target.closest && event.target.closest('[data-failure-open]')
      var li = button && button.closest('li[data-failure]')
      if (li) failures.open(storyRows()[Number(li.getAttribute('data-failure'))], true)
    })
  }
  // The commands that list the failed URLs (a rerun's list), each with a button that copies it.
  var commands = document.querySelectorAll('#failures code.cmd')
  for (var ci = 0; ci < commands.length; ci++) {
    ;(function (command) {
      var button = el('button', 'why copy-cmd', 'copy')
      button.type = 'button'
      // Named for what it copies: a screen reader's list of buttons said 'copy the command' once
      // for each (NatLibFi/Skosmos#2057, microsoft/rushstack-websites#246).
      var code = command.getAttribute('data-failed-list')
      var what = code === null
        ? ' the jq command that lists every failed URL'
        : code && code !== '*' ? ' the command that lists the ' + code + ' failures' : ' the command that lists every failed URL'
      button.appendChild(el('span', 'visually-hidden', what))
      var said = el('span', 'copied')
      said.setAttribute('aria-live', 'polite')
      button.addEventListener('click', function () { copy(command.textContent, command, said) })
      command.parentNode.insertBefore(said, command.nextSibling)
      command.parentNode.insertBefore(button, said)
    })(commands[ci])
  }
  document.documentElement.setAttribute('data-ready', 'true')
})()
`
