// The DAP base protocol's framing (`Content-Length: N\r\n\r\n` + N bytes of UTF-8 JSON), read
// defensively: @vscode/debugadapter turns one unparseable message into an 'error' event that shuts a
// stdio adapter down. Here a bad message (not JSON, not an object, invalid UTF-8, a wrong or missing
// Content-Length, an oversized header or body) is reported and skipped, and reading resynchronises
// at the next `Content-Length:` header, so the session goes on.

/** Largest message accepted (a writeMemory of the adapter's 16 MiB limit, base64, fits). */
export const MAX_DAP_MESSAGE = 32 * 1024 * 1024;
const MAX_HEADER = 4096;
const HEADER = Buffer.from('Content-Length:', 'latin1');
const CRLF2 = Buffer.from('\r\n\r\n', 'latin1');
const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface DapMessageSink {
  message(msg: Record<string, unknown>): void;
  /** A message was dropped: `problem` says why (and where, when the request can be named). */
  bad(problem: string): void;
}

export class DapFraming {
  private buf: Buffer = Buffer.alloc(0);
  private length = -1;

  constructor(private readonly sink: DapMessageSink) {}

  feed(data: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : data;
    for (;;) {
      if (this.length < 0) {
        if (!this.readHeader()) return;
        continue;
      }
      // A body shorter than its Content-Length would swallow the next message: if a complete
      // header follows a parsable body, the length was wrong (too large) and the body ends there.
      if (this.buf.length < this.length) {
        const next = this.nextHeaderAfter(0);
        if (next > 0 && this.tryBody(this.buf.subarray(0, next), true)) {
          this.sink.bad(`Content-Length ${this.length} exceeds the message (${next} bytes): the message was read up to the next header`);
          this.buf = this.buf.subarray(next);
          this.length = -1;
          continue;
        }
        return;
      }
      const body = this.buf.subarray(0, this.length);
      const rest = this.buf.subarray(this.length);
      const length = this.length;
      this.length = -1;
      // A header inside the body: a Content-Length too large took in the next message; the body
      // ends there if what precedes it is a message.
      const k = body.indexOf(HEADER, 1);
      if (k > 0 && this.tryBody(body.subarray(0, k), true)) {
        this.sink.bad(`Content-Length ${length} exceeds the message (${k} bytes): the message was read up to the next header`);
        this.buf = Buffer.concat([body.subarray(k), rest]);
        continue;
      }
      if (this.tryBody(body, false)) { this.buf = rest; continue; }
      // Not a message (a Content-Length too small, or garbage): resynchronise at the next header.
      this.buf = k > 0 ? Buffer.concat([body.subarray(k), rest]) : rest;
    }
  }

  /** Parse a header block at the start of the buffer; false when more data is needed. */
  private readHeader(): boolean {
    const end = this.buf.indexOf(CRLF2);
    if (end < 0) {
      if (this.buf.length > MAX_HEADER) {
        this.sink.bad(`${this.buf.length} bytes with no complete header were skipped`);
        this.buf = this.buf.subarray(this.buf.length - HEADER.length);
      }
      return false;
    }
    const start = this.buf.subarray(0, end).indexOf(HEADER);
    if (start < 0) {
      this.sink.bad(`a header without Content-Length ('${this.buf.subarray(0, Math.min(end, 60)).toString('latin1')}') was skipped`);
      this.buf = this.buf.subarray(end + CRLF2.length);
      return true;
    }
    if (start > 0) {
      if (this.buf.subarray(0, start).toString('latin1').trim()) this.sink.bad(`${start} bytes before a Content-Length header were skipped`);
      this.buf = this.buf.subarray(start);
      return true;
    }
    const header = this.buf.subarray(0, end).toString('latin1');
    this.buf = this.buf.subarray(end + CRLF2.length);
    const m = /^Content-Length:[ \t]*(\d+)[ \t]*$/im.exec(header);
    const n = m ? Number(m[1]) : NaN;
    if (!Number.isSafeInteger(n)) { this.sink.bad(`bad header '${header.split('\r\n')[0].slice(0, 80)}': expected Content-Length: N`); return true; }
    if (n > MAX_DAP_MESSAGE) { this.sink.bad(`Content-Length ${n} exceeds the ${MAX_DAP_MESSAGE}-byte limit of one message`); return true; }
    this.length = n;
    return true;
  }

  /** Position of the next header at or after `from` that is followed by a complete header block. */
  private nextHeaderAfter(from: number): number {
    const k = this.buf.indexOf(HEADER, from);
    if (k < 0) return -1;
    return this.buf.indexOf(CRLF2, k) > 0 ? k : -1;
  }

  /** Decode and hand over one body; false (and reported unless `probe`) when it is not a message. */
  private tryBody(body: Buffer, probe: boolean): boolean {
    let text: string;
    try { text = utf8.decode(body); } catch {
      if (!probe) this.sink.bad(`a ${body.length}-byte message is not valid UTF-8`);
      return false;
    }
    let msg: unknown;
    try { msg = JSON.parse(text); } catch (e) {
      if (!probe) this.sink.bad(`a ${body.length}-byte message is not JSON (${(e as Error).message})`);
      return false;
    }
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
      if (!probe) this.sink.bad(`a message must be a JSON object, got ${msg === null ? 'null' : Array.isArray(msg) ? 'an array' : typeof msg}`);
      return !probe;
    }
    this.sink.message(msg as Record<string, unknown>);
    return true;
  }
}
