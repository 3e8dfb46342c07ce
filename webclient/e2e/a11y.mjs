// A quick accessibility audit over the rendered DOM: every button, link and
// form control has an accessible name, images have text alternatives, and
// keyboard focus is visible on everything Tab reaches. It is not a full
// WCAG checker; it catches the mistakes a component library makes easy
// (an icon-only button without aria-label, an outline removed without a ring).

/** Problems on the page as strings ("button <svg> without a name"), empty when clean. */
export async function audit(page, { tabStops = 60 } = {}) {
  const problems = await page.evaluate(() => {
    const out = []
    const visible = (el) => {
      const r = el.getBoundingClientRect()
      const cs = getComputedStyle(el)
      return r.width > 0 && r.height > 0 && cs.visibility !== 'hidden' && cs.display !== 'none'
    }
    const textOf = (el) => (el.innerText || el.textContent || '').replace(/\s+/g, ' ').trim()
    const byIds = (ids) =>
      ids
        .split(/\s+/)
        .map((id) => document.getElementById(id))
        .filter(Boolean)
        .map(textOf)
        .join(' ')
        .trim()
    const name = (el) => {
      const a = el.getAttribute('aria-label')?.trim()
      if (a) return a
      const lb = el.getAttribute('aria-labelledby')
      if (lb && byIds(lb)) return byIds(lb)
      if (el.labels && el.labels.length) {
        const t = [...el.labels].map(textOf).join(' ').trim()
        if (t) return t
      }
      if (['BUTTON', 'A', 'SUMMARY'].includes(el.tagName) || ['button', 'tab', 'menuitem', 'link', 'option'].includes(el.getAttribute('role'))) {
        const t = textOf(el)
        if (t) return t
        const img = el.querySelector('img[alt]')
        if (img?.alt.trim()) return img.alt.trim()
      }
      return el.getAttribute('title')?.trim() || ''
    }
    const describe = (el) => {
      const id = el.id ? `#${el.id}` : ''
      const tid = el.dataset.testid ? `[data-testid=${el.dataset.testid}]` : ''
      return `<${el.tagName.toLowerCase()}${id}${tid} class="${(el.getAttribute('class') || '').slice(0, 60)}">`
    }
    for (const el of document.querySelectorAll('button, a[href], [role=button], [role=tab], [role=menuitem], [role=link]')) {
      if (!visible(el) || el.closest('[aria-hidden=true]')) continue
      if (!name(el)) out.push(`${el.tagName.toLowerCase()} without an accessible name: ${describe(el)}`)
    }
    for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea, [role=slider], [role=combobox]')) {
      if (!visible(el) || el.closest('[aria-hidden=true]') || el.getAttribute('aria-hidden') === 'true') continue
      if (!name(el)) out.push(`form control without a label: ${describe(el)}`)
    }
    for (const el of document.querySelectorAll('img')) {
      if (visible(el) && !el.hasAttribute('alt')) out.push(`image without alt: ${describe(el)}`)
    }
    for (const el of document.querySelectorAll('canvas[tabindex]')) {
      if (!name(el)) out.push(`focusable canvas without a label: ${describe(el)}`)
    }
    return out
  })
  // Focus must be visible: Tab through the page and look at each focused element's outline / ring.
  await page.evaluate(() => document.activeElement?.blur?.())
  await page.locator('body').focus().catch(() => {})
  const seen = new Set()
  for (let i = 0; i < tabStops; i++) {
    await page.keyboard.press('Tab')
    const r = await page.evaluate(() => {
      const el = document.activeElement
      if (!el || el === document.body) return null
      const cs = getComputedStyle(el)
      const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0
      const ring = cs.boxShadow && cs.boxShadow !== 'none'
      const key = el.tagName + '|' + (el.getAttribute('aria-label') || el.id || (el.textContent || '').trim().slice(0, 30))
      return { key, ok: outline || ring, what: `<${el.tagName.toLowerCase()} aria-label="${el.getAttribute('aria-label') || ''}" class="${(el.getAttribute('class') || '').slice(0, 80)}">${(el.textContent || '').trim().slice(0, 30)}` }
    })
    if (!r) continue
    if (seen.has(r.key)) {
      if (seen.size > 3) break // wrapped around
      continue
    }
    seen.add(r.key)
    if (!r.ok) problems.push(`no visible focus indicator: ${r.what}`)
  }
  return problems
}
