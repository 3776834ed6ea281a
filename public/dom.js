// The DOM helpers the modules share.

/** A new tag element with class cls (if any) and text (if given) as its text. */
export function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
}

/**
 * A span holding a person's name (class cls): its direction comes from the
 * name's own letters (dir="auto"), so a Latin name in an Arabic page, or an
 * Arabic one in an English page, reads in its own order and a long one is
 * cut at its end, never at its start.
 */
export function nameSpan(cls, name) {
    const e = el('span', cls, name);
    e.dir = 'auto';
    return e;
}
