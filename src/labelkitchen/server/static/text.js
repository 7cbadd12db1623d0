// Record text helpers: the project tokenizer and Python code-point offsets.
//
// The server counts offsets in Python str code points; JavaScript strings count UTF-16 units, so
// an emoji before a span shifts every offset by one. All conversion happens here, at the edge:
// the rest of the page works in token indices and UTF-16 positions of the string it holds.

// words.v1, identical to labelkitchen.schema.tokenize: Python's  \w+|[^\w\s]  where \w is a
// Unicode letter, number or underscore and \s is what str.isspace() accepts (which is not JS \s).
const WORD = "\\p{L}\\p{N}_";
const SPACE = "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const TOKEN = new RegExp(`[${WORD}]+|[^${WORD}${SPACE}]`, "gu");
export const WORD_CHAR = new RegExp(`^[${WORD}]$`, "u");
export const SPACE_CHAR = new RegExp(`^[${SPACE}]$`, "u");

const isHigh = (code) => code >= 0xd800 && code <= 0xdbff;
const isLow = (code) => code >= 0xdc00 && code <= 0xdfff;

/**
 * Tokens of `text`: UTF-16 `start`/`end` (for slicing the JS string) and code-point
 * `cpStart`/`cpEnd` (for the server), as typed arrays of length `n`.
 */
export function tokenize(text) {
  const starts = [];
  const ends = [];
  const cpStarts = [];
  const cpEnds = [];
  let at16 = 0;
  let atCp = 0;
  const advance = (target) => {
    while (at16 < target) {
      if (isHigh(text.charCodeAt(at16)) && isLow(text.charCodeAt(at16 + 1))) at16 += 2;
      else at16 += 1;
      atCp += 1;
    }
  };
  TOKEN.lastIndex = 0;
  for (const match of text.matchAll(TOKEN)) {
    advance(match.index);
    starts.push(at16);
    cpStarts.push(atCp);
    advance(match.index + match[0].length);
    ends.push(at16);
    cpEnds.push(atCp);
  }
  return {
    n: starts.length,
    start: Int32Array.from(starts),
    end: Int32Array.from(ends),
    cpStart: Int32Array.from(cpStarts),
    cpEnd: Int32Array.from(cpEnds),
  };
}

/** For each code-point offset 0..length (inclusive), its UTF-16 offset. */
export function codePointMap(text) {
  const map = [0];
  for (let i = 0; i < text.length; ) {
    i += isHigh(text.charCodeAt(i)) && isLow(text.charCodeAt(i + 1)) ? 2 : 1;
    map.push(i);
  }
  return Int32Array.from(map);
}

/** The code-point offset of UTF-16 offset `index`. */
export function toCodePoints(text, index) {
  let count = 0;
  for (let i = 0; i < index; ) {
    i += isHigh(text.charCodeAt(i)) && isLow(text.charCodeAt(i + 1)) ? 2 : 1;
    count += 1;
  }
  return count;
}

/** The first index in sorted `array` whose value is >= `value`. */
export function lowerBound(array, value) {
  let lo = 0;
  let hi = array.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (array[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Text segments of `text` with server spans (code points) laid over it, for read-only views. */
export function segments(text, spans) {
  const map = codePointMap(text);
  const cuts = new Set([0, text.length]);
  const inside = spans.map((span) => {
    const start = map[Math.min(span.start, map.length - 1)];
    const end = map[Math.min(span.end, map.length - 1)];
    cuts.add(start);
    cuts.add(end);
    return { start, end, label: span.label };
  });
  const points = [...cuts].sort((a, b) => a - b);
  const out = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const [from, to] = [points[i], points[i + 1]];
    if (from === to) continue;
    const covering = inside.filter((s) => s.start <= from && s.end >= to);
    out.push({ text: text.slice(from, to), labels: covering.map((s) => s.label), ends: inside.filter((s) => s.end === to).map((s) => s.label) });
  }
  return out;
}
