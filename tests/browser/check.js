// Measures the page as a reader's browser lays it out and appends the
// figures as JSON in a pre element (id repbench-check) for tests/browser.rs.
// FIRST is replaced by the id of the heading whose table must be on the
// first screen.
addEventListener('load', () => {
  // Collapsed sections (confusion matrices, maps) are measured opened, as
  // a reader who opens them sees them.
  for (const d of document.querySelectorAll('details')) d.open = true;
  const viewport = document.documentElement.clientWidth;
  const scrolls = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll') return true;
    }
    return false;
  };
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.right > viewport + 1 && !scrolls(el)) {
      wide.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''} ends at ${Math.round(r.right)}`);
    }
  }
  const charts = [...document.querySelectorAll('svg')];
  const empty = charts.filter((s) => {
    const r = s.getBoundingClientRect();
    return r.width < 8 || r.height < 8;
  }).length;
  const heading = document.getElementById('FIRST');
  let firstBottom = null;
  if (heading) {
    let el = heading.nextElementSibling;
    while (el && !el.querySelector('table') && el.tagName !== 'TABLE') el = el.nextElementSibling;
    if (el) firstBottom = el.getBoundingClientRect().bottom;
  }
  const out = document.createElement('pre');
  out.id = 'repbench-check';
  out.textContent = JSON.stringify({
    viewport, height: innerHeight, wide: wide.slice(0, 20), charts: charts.length, empty, firstBottom,
  });
  document.body.appendChild(out);
});
