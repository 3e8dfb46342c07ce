// Records lib0 byte vectors for crdt/lib0's golden test.
// Usage: node lib0vectors.mjs > ../../lib0/testdata/vectors.json
// (run by `go test ./crdt/lib0 -update`).
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'

const hex = (u8) => Buffer.from(u8).toString('hex')
const units = (s) => Array.from({ length: s.length }, (_, i) => s.charCodeAt(i))
const fromUnits = (u) => String.fromCharCode(...u)

// repr describes a decoded value exactly (Go's test builds the same text).
const repr = (v) => {
  if (v === undefined) return 'undefined'
  if (v === null) return 'null'
  switch (typeof v) {
    case 'number': return 'num:' + (Object.is(v, -0) ? '-0' : String(v))
    case 'bigint': return 'big:' + v.toString()
    case 'boolean': return String(v)
    case 'string': return 'str:' + JSON.stringify(units(v))
  }
  if (v instanceof Uint8Array) return 'bytes:' + hex(v)
  if (Array.isArray(v)) return '[' + v.map(repr).join(',') + ']'
  return '{' + Object.keys(v).map(k => JSON.stringify(units(k)) + ':' + repr(v[k])).join(',') + '}'
}

const out = []
const enc = (f) => { const e = encoding.createEncoder(); f(e); return hex(encoding.toUint8Array(e)) }

for (const v of [0, 1, 63, 64, 127, 128, 300, 16383, 16384, 2 ** 31 - 1, 2 ** 32, 2 ** 35 + 7, 2 ** 49, 2 ** 53 - 1]) {
  out.push({ kind: 'varUint', value: String(v), hex: enc(e => encoding.writeVarUint(e, v)) })
}
for (const v of [0, -0, 1, -1, 63, -63, 64, -64, 8191, 8192, -8192, 2 ** 31 - 1, -(2 ** 31), 2 ** 40 + 3, -(2 ** 53 - 1), 2 ** 53 - 1]) {
  out.push({ kind: 'varInt', value: Object.is(v, -0) ? '-0' : String(v), hex: enc(e => encoding.writeVarInt(e, v)) })
}
const strings = ['', 'a', 'hello', 'é', '日本語', '😀', 'ab😀c', '\u0000\u001f"\\', '\uD83D', 'x\uDE00y', '\uDE00\uD83D', 'a'.repeat(200)]
for (const s of strings) {
  const h = enc(e => encoding.writeVarString(e, s))
  const back = decoding.readVarString(decoding.createDecoder(Buffer.from(h, 'hex')))
  out.push({ kind: 'varString', utf16: units(s), hex: h, decoded: units(back) })
}
// Malformed UTF-8: lib0's TextDecoder is fatal, so these fail (decoded: null).
for (const h of ['02e282', '03e28241', '02c0af', '03eda080', '04f4908080', '01ff', '04f09f9880', '02f09f', '05e282f09f98']) {
  let decoded = null
  try { decoded = units(decoding.readVarString(decoding.createDecoder(Buffer.from(h, 'hex')))) } catch (e) { decoded = null }
  out.push({ kind: 'readVarString', hex: h, decoded })
}
out.push({ kind: 'float32', value: '0.5', hex: enc(e => encoding.writeFloat32(e, 0.5)) })
out.push({ kind: 'float64', value: '0.1', hex: enc(e => encoding.writeFloat64(e, 0.1)) })
out.push({ kind: 'bigint64', value: '-2', hex: enc(e => encoding.writeBigInt64(e, -2n)) })

const obj1 = { b: 1, a: 'x', 2: true, 1: null, 10: [1, 2], '01': 'not an index', 4294967295: 'too big', 4294967294: 'max index' }
const anys = [
  undefined, null, true, false, 0, -0, 1, -1, 63, 64, -64, 300, 2 ** 31 - 1, -(2 ** 31 - 1), -(2 ** 31), 2 ** 31, 2 ** 32,
  0.5, -0.25, 0.1, 1.5e300, 2 ** 53 - 1, 2 ** 53, -(2 ** 60), NaN, Infinity, -Infinity, 5e-324, 3.4028234663852886e38,
  0n, -1n, 2n ** 63n - 1n, -(2n ** 63n),
  '', 'str', 'emoji 😀', '\uD83D',
  new Uint8Array([]), new Uint8Array([1, 2, 255]),
  [], [1, 'a', null, undefined, [2, [3]], { x: 1 }],
  {}, obj1, { nested: { deep: { deeper: [1, { k: 'v' }] } }, 'key with 😀': 1.25 },
  { __proto__: null, z: 1, y: 2 }
]
for (const v of anys) {
  const h = enc(e => encoding.writeAny(e, v))
  const back = decoding.readAny(decoding.createDecoder(Buffer.from(h, 'hex')))
  out.push({ kind: 'any', hex: h, repr: repr(back) })
}
// Hand-made any bytes: duplicate keys, integer keys out of order, __proto__.
for (const h of ['760301627d0101617d0201627d03', '760301627801317901327d01', '760209' + hex(Buffer.from('__proto__')) + '7d0101617d02']) {
  const back = decoding.readAny(decoding.createDecoder(Buffer.from(h, 'hex')))
  out.push({ kind: 'readAny', hex: h, repr: repr(back), reencoded: enc(e => encoding.writeAny(e, back)) })
}

const rle = (values) => { const e = new encoding.RleEncoder(encoding.writeUint8); values.forEach(v => e.write(v)); return hex(encoding.toUint8Array(e)) }
for (const vs of [[], [4], [4, 4, 4, 7], [1, 2, 3], [0, 0, 0, 0, 0, 1, 1, 0], Array(300).fill(9)]) {
  out.push({ kind: 'rle', values: vs, hex: rle(vs) })
}
const uor = (values) => { const e = new encoding.UintOptRleEncoder(); values.forEach(v => e.write(v)); return hex(e.toUint8Array()) }
for (const vs of [[], [0], [0, 0], [1, 2, 3, 3, 3, 0, 0], [5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5], [2 ** 40, 2 ** 40, 7], [1000, 1, 1000]]) {
  out.push({ kind: 'uintOptRle', values: vs, hex: uor(vs) })
}
const idor = (values) => { const e = new encoding.IntDiffOptRleEncoder(); values.forEach(v => e.write(v)); return hex(e.toUint8Array()) }
for (const vs of [[], [0], [0, 0, 0], [1, 2, 3, 2], [5, 4, 3, 2, 1, 0], [10, 20, 30, 40, 1000, 0], [2 ** 50, 2 ** 50 + 1, 3]]) {
  out.push({ kind: 'intDiffOptRle', values: vs, hex: idor(vs) })
}
const strCols = [[], ['ab', '😀', 'c'], ['', '', 'x'], ['\uD83D', '\uDE00'], ['a\uD83D', '\uDE00b', '\uDE00'], ['héllo wörld', 'long string number one', 'x', 'y', 'z', 'another long string here']]
for (const ss of strCols) {
  const e = new encoding.StringEncoder(); ss.forEach(s => e.write(s))
  const h = hex(e.toUint8Array())
  const d = new decoding.StringDecoder(Buffer.from(h, 'hex'))
  out.push({ kind: 'stringColumn', strings: ss.map(units), hex: h, decoded: ss.map(() => units(d.read())) })
}
const jsonValues = [null, true, 1, -0, 0.1, 1e21, 1e-7, 123456789012345680000, 1.5e-7, 0.000001, -1e300, 5e-324, NaN, Infinity,
  'q"\\/\b\f\n\r\t\u0001\u007f😀\uD83D', [1, undefined, null], { a: undefined, b: 1, 3: 'three', 1: 'one' }, new Uint8Array([7, 8]), { nested: [{}, []] }]
for (const v of jsonValues) {
  const j = JSON.stringify(v)
  // writeAny turns lone surrogates into U+FFFD, so strings also travel as UTF-16 units.
  out.push({ kind: 'json', anyhex: enc(e => encoding.writeAny(e, v)), utf16: typeof v === 'string' ? units(v) : undefined, json: j, parsedhex: enc(e => encoding.writeAny(e, JSON.parse(j))) })
}
for (const j of ['{"__proto__":1,"b":2,"1":3}', ' [ 1 , 2.50 , -3e2 , "\\ud83d\\ude00" , "\\u00e9" ] ', '"\\uDE00"', '{"a":1,"a":2}']) {
  out.push({ kind: 'parseJSON', json: j, parsedhex: enc(e => encoding.writeAny(e, JSON.parse(j))), restringified: JSON.stringify(JSON.parse(j)) })
}
for (const n of [0, -0, 1, -1.5, 0.1, 1e21, 1e20, 123e-20, 1e-6, 1e-7, 2 ** 53, 2 ** 70, 5e-324, 1.7976931348623157e308, 100, 0.000123, 1234.5678]) {
  out.push({ kind: 'numberString', value: n, str: String(n), float64: enc(e => encoding.writeFloat64(e, n)) })
}
process.stdout.write(JSON.stringify(out, null, 1) + '\n')
