import { describe, expect, it } from 'vitest'
import { allPages, MAX_PAGES, unwrap, userOf, wsBase } from './api'
import { closeReason, MAX_REJOIN, rejoinDelay, stereoSdp } from './rtc'

describe('REST helpers', () => {
  it('turns a room-token url into a WebSocket base', () => {
    const loc = { protocol: 'https:', host: 'studio.example.com' }
    expect(wsBase('/collab', loc)).toBe('wss://studio.example.com/collab')
    expect(wsBase('http://127.0.0.1:8080/collab/', loc)).toBe('ws://127.0.0.1:8080/collab')
    expect(wsBase('https://x.test/collab', loc)).toBe('wss://x.test/collab')
    expect(wsBase('wss://x.test/collab', loc)).toBe('wss://x.test/collab')
    expect(wsBase('', { protocol: 'http:', host: 'localhost:5173' })).toBe('ws://localhost:5173/collab')
  })
  it('unwraps lists and users in either shape', () => {
    expect(unwrap<number>({ projects: [1, 2] }, 'projects')).toEqual([1, 2])
    expect(unwrap<number>([3], 'projects')).toEqual([3])
    expect(unwrap<number>({ nope: 1 }, 'projects')).toEqual([])
    const u = { id: 'u1', email: 'a@b.c', displayName: 'A' }
    expect(userOf({ user: u })).toEqual(u)
    expect(userOf(u)).toEqual(u)
    expect(() => userOf({})).toThrow(/no user/)
  })
})

describe('paged lists', () => {
  it('follows nextBefore to the last page', async () => {
    const urls: string[] = []
    const pages: Record<string, unknown> = {
      '': { projects: [1, 2], nextBefore: 'c1' },
      c1: { projects: [3], nextBefore: 'c2' },
      c2: { projects: [4] },
    }
    const got = await allPages<number>('/api/v1/projects', { deleted: 'true' }, 'projects', async (url) => {
      urls.push(url)
      return pages[new URL(url, 'http://x').searchParams.get('before') ?? '']
    })
    expect(got).toEqual([1, 2, 3, 4])
    expect(urls[0]).toBe('/api/v1/projects?deleted=true&limit=200')
    expect(urls[2]).toBe('/api/v1/projects?deleted=true&limit=200&before=c2')
  })
  it('stops after MAX_PAGES pages', async () => {
    let calls = 0
    const got = await allPages<number>('/p', {}, 'projects', async () => ({ projects: [calls++], nextBefore: 'again' }))
    expect(calls).toBe(MAX_PAGES)
    expect(got).toHaveLength(MAX_PAGES)
  })
})

describe('rtc helpers', () => {
  const answer = 'v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n'
  it('asks for stereo Opus once', () => {
    const s = stereoSdp(answer)
    expect(s).toContain('a=fmtp:111 minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1')
    expect(stereoSdp(s)).toBe(s)
    expect(stereoSdp('v=0\r\n')).toBe('v=0\r\n')
  })
  it('joins again after a 4503 or a dropped connection, with backoff, a few times', () => {
    expect(rejoinDelay(4503, 0)).toBe(500)
    expect(rejoinDelay(1006, 1)).toBe(1000)
    expect(rejoinDelay(4503, 2)).toBe(2000)
    expect(rejoinDelay(4503, MAX_REJOIN)).toBeNull()
    expect(rejoinDelay(4401, 0)).toBeNull()
    expect(rejoinDelay(1000, 0)).toBeNull()
    expect(rejoinDelay(undefined, 0)).toBeNull()
  })
  it('explains close codes in words', () => {
    expect(closeReason(4403, '')).toMatch(/role/)
    expect(closeReason(4999, 'custom')).toBe('custom')
    expect(closeReason(4999, '')).toMatch(/4999/)
  })
})
