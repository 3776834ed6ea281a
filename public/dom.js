// The one DOM helper the modules share.

/** A new tag element with class cls (if any) and text (if given) as its text. */
export function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
}
