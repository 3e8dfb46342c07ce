// Browser side of rtc's signalling protocol (docs/rtc-protocol.md), used by
// page.html in the Chromium test. It is also the reference for web clients:
// the server offers, we answer; candidates trickle both ways and early ones
// wait for the remote description; the answer asks for stereo=1.

// stereo adds stereo=1 to the Opus fmtp lines of an SDP (browsers mix
// down to mono without it).
export function stereo(sdp) {
  const pt = /a=rtpmap:(\d+) opus\/48000\/2/i.exec(sdp)?.[1];
  if (!pt) return sdp;
  return sdp.replace(new RegExp(`a=fmtp:${pt} ([^\\r\\n]*)`, 'g'), (line, params) =>
    /stereo=1/.test(params) ? line : `a=fmtp:${pt} ${params};stereo=1;sprop-stereo=1`);
}

// connect opens the signalling socket, sends join and answers offers.
export function connect(url, join, { localStream, onTrack, onDataChannel } = {}) {
  const pc = new RTCPeerConnection();
  if (localStream) for (const t of localStream.getTracks()) pc.addTrack(t, localStream);
  if (onTrack) pc.ontrack = onTrack;
  if (onDataChannel) pc.ondatachannel = onDataChannel;
  const ws = new WebSocket(url);
  const events = [];
  const pending = [];
  let chain = Promise.resolve();
  let closed = null;
  const send = (m) => ws.send(JSON.stringify(m));
  const opened = new Promise((resolve, reject) => {
    ws.onopen = () => { send(join); resolve(); };
    ws.onerror = () => reject(new Error('websocket error'));
  });
  pc.onicecandidate = (e) => {
    if (e.candidate) opened.then(() => send({ type: 'candidate', candidate: e.candidate.toJSON() }));
  };
  const handle = async (m) => {
    switch (m.type) {
      case 'offer': {
        await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
        for (const c of pending.splice(0)) await pc.addIceCandidate(c);
        const answer = await pc.createAnswer();
        answer.sdp = stereo(answer.sdp);
        await pc.setLocalDescription(answer);
        send({ type: 'answer', sdp: answer.sdp });
        break;
      }
      case 'candidate':
        if (pc.remoteDescription) await pc.addIceCandidate(m.candidate);
        else pending.push(m.candidate);
        break;
      default:
        events.push(m);
    }
  };
  // One message at a time: a candidate must not overtake the offer's
  // setRemoteDescription.
  ws.onmessage = (ev) => { const m = JSON.parse(ev.data); chain = chain.then(() => handle(m)).catch((e) => events.push({ type: 'error', message: String(e) })); };
  ws.onclose = (ev) => { closed = { code: ev.code, reason: ev.reason }; };
  return { pc, ws, events, opened, send, closed: () => closed, close() { pc.close(); ws.close(); } };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// inbound returns the audio inbound-rtp stats with the most packets, and
// the codec's fmtp line.
async function inbound(pc) {
  const stats = await pc.getStats();
  let best = null;
  let fmtp = '';
  stats.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio' && (!best || s.packetsReceived > best.packetsReceived)) best = s;
  });
  if (best?.codecId) fmtp = stats.get(best.codecId)?.sdpFmtpLine ?? '';
  return { packetsReceived: best?.packetsReceived ?? 0, audioLevel: best?.audioLevel ?? 0, fmtp,
    jitterBufferMs: best?.jitterBufferEmittedCount ? 1000 * best.jitterBufferDelay / best.jitterBufferEmittedCount : 0 };
}

async function outboundPackets(pc) {
  let n = 0;
  (await pc.getStats()).forEach((s) => { if (s.type === 'outbound-rtp' && s.kind === 'audio') n += s.packetsSent; });
  return n;
}

// peakHz returns the loudest frequency of each channel of stream.
async function peakHz(stream, ms) {
  const ctx = new AudioContext({ sampleRate: 48000 });
  const src = ctx.createMediaStreamSource(stream);
  const split = ctx.createChannelSplitter(2);
  src.connect(split);
  const an = [0, 1].map((ch) => { const a = ctx.createAnalyser(); a.fftSize = 8192; split.connect(a, ch); return a; });
  await sleep(ms);
  const res = an.map((a) => {
    const bins = new Float32Array(a.frequencyBinCount);
    a.getFloatFrequencyData(bins);
    let best = 0;
    for (let i = 1; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
    return Math.round(best * ctx.sampleRate / a.fftSize);
  });
  await ctx.close();
  return res;
}

function play(stream) {
  const el = new Audio();
  el.autoplay = true;
  el.srcObject = stream;
  document.body.appendChild(el);
}

// runPreview plays an asset preview: time from play to the first audible
// packet in getStats, then the tones per channel.
export async function runPreview(url, assetId) {
  let stream = null;
  let dcOpen;
  const dcReady = new Promise((r) => { dcOpen = r; });
  const states = [];
  // Control ops go out after the first state, which the server sends once
  // its side of the channel is open (docs/rtc-protocol.md).
  const c = connect(url, { type: 'join', mode: 'preview', assetId }, {
    onTrack: (e) => { stream = e.streams[0] ?? new MediaStream([e.track]); play(stream); },
    onDataChannel: (e) => {
      const dc = e.channel;
      dc.onmessage = (m) => {
        const msg = JSON.parse(m.data);
        states.push(msg);
        if (msg.op === 'state') dcOpen(dc);
      };
    },
  });
  await c.opened;
  const dc = await Promise.race([dcReady, sleep(10000).then(() => { throw new Error(`no state on the control channel: ${JSON.stringify(c.events)} ${JSON.stringify(c.closed())}`); })]);
  const t0 = performance.now();
  dc.send(JSON.stringify({ op: 'play' }));
  let st = { packetsReceived: 0, audioLevel: 0 };
  while (performance.now() - t0 < 5000) {
    st = await inbound(c.pc);
    if (st.packetsReceived > 0 && st.audioLevel > 0) break;
    await sleep(5);
  }
  const ttfaMs = performance.now() - t0;
  const hz = await peakHz(stream, 400);
  dc.send(JSON.stringify({ op: 'seek', ms: 3000 }));
  await sleep(100);
  const hzAfterSeek = await peakHz(stream, 400);
  const final = await inbound(c.pc);
  c.close();
  return { ttfaMs, ...final, firstAudioLevel: st.audioLevel, hz, hzAfterSeek, states: states.length, stateLog: JSON.stringify(states.slice(0, 4)).slice(0, 600) };
}

// runLive joins a live session with the fake microphone and waits until
// audio from another participant arrives and our own packets go out.
export async function runLive(url) {
  const mic = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
  const c = connect(url, { type: 'join', mode: 'live' }, {
    localStream: mic,
    onTrack: (e) => play(e.streams[0] ?? new MediaStream([e.track])),
  });
  await c.opened;
  const t0 = performance.now();
  let st = { packetsReceived: 0, audioLevel: 0 };
  let sent = 0;
  while (performance.now() - t0 < 10000) {
    st = await inbound(c.pc);
    sent = await outboundPackets(c.pc);
    if (st.packetsReceived > 0 && st.audioLevel > 0 && sent > 0) break;
    await sleep(10);
  }
  const firstMs = performance.now() - t0;
  await sleep(1500); // let the server hear us for a while
  const final = await inbound(c.pc);
  const packetsSent = await outboundPackets(c.pc);
  const events = c.events.map((e) => e.type);
  c.close();
  return { firstMs, ...final, packetsSent, events };
}
