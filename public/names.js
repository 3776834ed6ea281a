// People's names: the rule a name must meet before it is sent, and how a
// name is drawn (initials, a colour). Pure functions: no DOM, no state.

const MAX_NAME_BYTES = 64;

/** The name cleaned of control characters and cut to 64 UTF-8 bytes. */
export function cleanName(raw) {
    let s = String(raw || '').replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').replace(/\s+/g, ' ').trim();
    const enc = new TextEncoder();
    while (enc.encode(s).length > MAX_NAME_BYTES) s = [...s].slice(0, -1).join('');
    return s;
}

export function initials(name) {
    const parts = String(name || '?').trim().split(/\s+/).filter(Boolean);
    const s = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] || '?').slice(0, 2);
    return [...s].slice(0, 2).join('').toUpperCase();
}

/** A stable hue for a name, so each person keeps a colour. */
export function hue(name) {
    let h = 0;
    for (const ch of String(name)) h = (h * 31 + ch.codePointAt(0)) % 360;
    return h;
}
