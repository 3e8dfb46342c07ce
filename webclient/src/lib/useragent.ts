// A browser's User-Agent in words for the account's session list
// ("Chrome 156 on Linux"); the raw string stays in the tooltip.

const BROWSERS: [RegExp, string][] = [
  [/Edg(?:e|A|iOS)?\/(\d+)/, 'Edge'],
  [/OPR\/(\d+)/, 'Opera'],
  [/Firefox\/(\d+)/, 'Firefox'],
  [/FxiOS\/(\d+)/, 'Firefox'],
  [/CriOS\/(\d+)/, 'Chrome'],
  [/HeadlessChrome\/(\d+)/, 'Headless Chrome'],
  [/Chrom(?:e|ium)\/(\d+)/, 'Chrome'],
  [/Version\/(\d+)[\d.]* (?:Mobile\/\S+ )?Safari\//, 'Safari'],
]

const SYSTEMS: [RegExp, string][] = [
  [/iPhone|iPad|iPod/, 'iOS'],
  [/Android/, 'Android'],
  [/CrOS/, 'ChromeOS'],
  [/Windows/, 'Windows'],
  [/Mac OS X|Macintosh/, 'macOS'],
  [/Linux/, 'Linux'],
]

/** "Chrome 156 on Linux"; a client that is no known browser is shown by its first token ("curl/8.5.0"). */
export function describeUserAgent(ua: string | undefined | null): string {
  const s = (ua ?? '').trim()
  if (!s) return 'Unknown browser'
  let browser = ''
  for (const [re, name] of BROWSERS) {
    const m = s.match(re)
    if (m) {
      browser = `${name} ${m[1]}`
      break
    }
  }
  const system = SYSTEMS.find(([re]) => re.test(s))?.[1]
  if (!browser) return s.split(/\s+/)[0].slice(0, 60)
  return system ? `${browser} on ${system}` : browser
}
