// Berth's Markdown renderer for environment descriptions and hints. It builds DOM nodes with
// createElement and text nodes, never innerHTML, so raw HTML in the source shows as literal text.
// Supported: paragraphs, headings, emphasis, strong, strikethrough, inline code, fenced code
// blocks, bullet and numbered lists (nested by indentation), block quotes, rules, hard line
// breaks, links and autolinks. Links keep only http:, https: and relative targets; any other
// scheme (javascript:, data:, …) leaves the link's text as plain text.
"use strict";

const BerthMarkdown = (() => {
  const FENCE = /^( {0,3})(`{3,}|~{3,})[ \t]*([^`\s]*)[^`]*$/;
  const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
  const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
  const BULLET = /^( {0,3})([-*+])(?:[ \t]+(.*))?$/;
  const ORDERED = /^( {0,3})(\d{1,9})([.)])(?:[ \t]+(.*))?$/;
  const QUOTE = /^ {0,3}> ?(.*)$/;
  const PUNCTUATION = /[!-/:-@[-`{-~]/;
  const BARE_URL = /^https?:\/\/[^\s<>"'`]+/i;
  const AUTOLINK = /^<([a-z][a-z0-9+.-]{1,31}:[^<>\s]*)>/i;
  // Nesting deeper than this (quotes in lists in quotes…) is shown as text: hostile input
  // must not exhaust the stack.
  const MAX_DEPTH = 12;
  const MAX_LINK_LENGTH = 2048;
  // Longest `[label](destination "title")` looked at: bounds the work per "[" on hostile input.
  const MAX_LINK_SOURCE = 4096;

  /**
   * The link target for `raw` if it is http:, https: or relative, else null. Answers
   * {href, external}: href is the resolved URL (what was checked is what is used), external
   * says whether it leaves this origin.
   */
  function safeURL(raw) {
    // Browsers drop tabs, newlines and control characters inside URLs ("java\nscript:"):
    // check the URL as the browser will read it.
    const cleaned = String(raw).replace(/[\u0000-\u0020\u007f-\u009f]/g, "");
    if (!cleaned || cleaned.length > MAX_LINK_LENGTH) return null;
    let url;
    try {
      url = new URL(cleaned, document.baseURI);
    } catch (error) {
      return null;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    return { href: url.href, external: url.origin !== location.origin };
  }

  /** A link element for a checked target, or null when the target is not allowed. */
  function link(raw, title) {
    const target = safeURL(raw);
    if (!target) return null;
    const anchor = document.createElement("a");
    anchor.href = target.href;
    anchor.rel = "noopener noreferrer";
    if (target.external) anchor.target = "_blank";
    if (title) anchor.title = title;
    return anchor;
  }

  // -- blocks ---------------------------------------------------------------------------

  function indentOf(line) {
    return line.length - line.trimStart().length;
  }

  function listItem(line) {
    const bullet = BULLET.exec(line);
    if (bullet && !RULE.test(line)) {
      return { ordered: false, marker: bullet[2], text: bullet[3] || "", width: bullet[0].length - (bullet[3] || "").length, start: 1 };
    }
    const ordered = ORDERED.exec(line);
    if (ordered) {
      return { ordered: true, marker: ordered[3], text: ordered[4] || "", width: ordered[0].length - (ordered[4] || "").length, start: Number(ordered[2]) };
    }
    return null;
  }

  function startsBlock(line) {
    return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || listItem(line) !== null;
  }

  function renderBlocks(lines, depth, options) {
    const out = document.createDocumentFragment();
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      if (!line.trim()) { i++; continue; }
      let match;
      if ((match = FENCE.exec(line))) {
        const indent = match[1].length;
        const fence = match[2];
        const closing = new RegExp("^ {0,3}" + fence[0] + "{" + fence.length + ",}[ \\t]*$");
        const body = [];
        i++;
        while (i < lines.length && !closing.test(lines[i])) {
          body.push(lines[i].slice(Math.min(indent, indentOf(lines[i]))));
          i++;
        }
        i++;
        const code = document.createElement("code");
        code.textContent = body.join("\n");
        if (match[3]) code.dataset.language = match[3];
        const pre = document.createElement("pre");
        pre.append(code);
        out.append(pre);
        continue;
      }
      if ((match = HEADING.exec(line))) {
        const level = Math.min(6, match[1].length + (options.headingOffset || 0));
        const heading = document.createElement("h" + level);
        renderInline(match[2] || "", heading, depth);
        out.append(heading);
        i++;
        continue;
      }
      if (RULE.test(line)) {
        out.append(document.createElement("hr"));
        i++;
        continue;
      }
      if (depth < MAX_DEPTH && QUOTE.test(line)) {
        const quoted = [];
        while (i < lines.length && lines[i].trim()) {
          const inner = QUOTE.exec(lines[i]);
          if (inner) quoted.push(inner[1]);
          else if (startsBlock(lines[i])) break;
          else quoted.push(lines[i]);
          i++;
        }
        const quote = document.createElement("blockquote");
        quote.append(renderBlocks(quoted, depth + 1, options));
        out.append(quote);
        continue;
      }
      if (depth < MAX_DEPTH && listItem(line)) {
        i = renderList(lines, i, depth, options, out);
        continue;
      }
      const paragraph = [];
      while (i < lines.length && lines[i].trim() && (paragraph.length === 0 || !startsBlock(lines[i]))) {
        paragraph.push(lines[i].trim() === lines[i] ? lines[i] : lines[i].trimStart());
        i++;
      }
      const p = document.createElement("p");
      renderInline(paragraph.join("\n"), p, depth);
      out.append(p);
    }
    return out;
  }

  /** Renders the list that starts at lines[i] into `out`; answers the index after it. */
  function renderList(lines, i, depth, options, out) {
    const first = listItem(lines[i]);
    const list = document.createElement(first.ordered ? "ol" : "ul");
    if (first.ordered && first.start !== 1) list.start = first.start;
    let loose = false;
    const items = [];
    while (i < lines.length) {
      const item = listItem(lines[i]);
      if (!item || item.ordered !== first.ordered || item.marker !== first.marker) break;
      const body = [item.text];
      i++;
      while (i < lines.length) {
        const line = lines[i];
        if (!line.trim()) {
          let next = i;
          while (next < lines.length && !lines[next].trim()) next++;
          if (next < lines.length && indentOf(lines[next]) >= item.width) {
            for (; i < next; i++) body.push("");
            loose = true;
            continue;
          }
          break;
        }
        if (indentOf(line) >= item.width) { body.push(line.slice(item.width)); i++; continue; }
        if (startsBlock(line)) break;
        body.push(line);
        i++;
      }
      items.push(body);
      // Blank lines between two items of the same list make it a loose list.
      let next = i;
      while (next < lines.length && !lines[next].trim()) next++;
      const following = next < lines.length ? listItem(lines[next]) : null;
      if (next > i && following && following.ordered === first.ordered && following.marker === first.marker) {
        loose = true;
        i = next;
      }
    }
    for (const body of items) {
      const li = document.createElement("li");
      const content = renderBlocks(body, depth + 1, options);
      if (!loose) {
        // A tight list shows its items' paragraphs without paragraph spacing.
        for (const child of Array.from(content.childNodes)) {
          if (child.nodeName === "P") child.replaceWith(...child.childNodes);
        }
      }
      li.append(content);
      list.append(li);
    }
    out.append(list);
    return i;
  }

  // -- inline ---------------------------------------------------------------------------

  /** Parses `[label](destination "title")` at text[start] === "["; null when it is not a link. */
  function parseLink(whole, start) {
    const text = whole.slice(0, start + MAX_LINK_SOURCE);
    let depth = 0;
    let i = start;
    for (; i < text.length; i++) {
      const c = text[i];
      if (c === "\\") { i++; continue; }
      if (c === "[") depth++;
      else if (c === "]" && --depth === 0) break;
    }
    if (i >= text.length || text[i + 1] !== "(") return null;
    const label = text.slice(start + 1, i);
    i += 2;
    while (text[i] === " " || text[i] === "\n") i++;
    let destination = "";
    if (text[i] === "<") {
      const close = text.indexOf(">", i);
      if (close < 0 || text.slice(i + 1, close).includes("\n")) return null;
      destination = text.slice(i + 1, close);
      i = close + 1;
    } else {
      let parens = 0;
      for (; i < text.length; i++) {
        const c = text[i];
        if (c === "\\" && i + 1 < text.length && PUNCTUATION.test(text[i + 1])) { destination += text[++i]; continue; }
        if (c === " " || c === "\n" || c === "\t") break;
        if (c === "(") parens++;
        if (c === ")" && parens-- === 0) break;
        destination += c;
      }
    }
    while (text[i] === " " || text[i] === "\n") i++;
    let title = "";
    const quote = text[i];
    if (quote === "\"" || quote === "'") {
      const close = text.indexOf(quote, i + 1);
      if (close < 0) return null;
      title = text.slice(i + 1, close);
      i = close + 1;
      while (text[i] === " " || text[i] === "\n") i++;
    }
    if (text[i] !== ")") return null;
    return { label, destination, title, end: i + 1 };
  }

  function isSpace(c) { return c === undefined || /\s/.test(c); }
  function isWordChar(c) { return c !== undefined && /[\p{L}\p{N}]/u.test(c); }

  /**
   * Where the closing delimiter (`size` times `c`) of an emphasis whose content starts before
   * `from` is, or -1. A closer is the end of a run of `c` that follows a non-space: the last
   * `size` characters of the run, so `**bold *italic***` closes the inner one first. A run of
   * exactly two only closes strong emphasis.
   */
  function findCloser(text, from, c, size) {
    for (let start = text.indexOf(c, from); start >= 0; start = text.indexOf(c, start)) {
      let end = start;
      while (text[end] === c) end++;
      const length = end - start;
      const fits = size === 2 ? length >= 2 : length !== 2;
      if (fits && !isSpace(text[start - 1]) && !(c === "_" && isWordChar(text[end]))) return end - size;
      start = end;
    }
    return -1;
  }

  /** Renders inline Markdown in `text` into `parent`; `inLink` keeps links out of links. */
  function renderInline(text, parent, depth, inLink) {
    if (depth >= MAX_DEPTH) { parent.append(text); return; }
    let buffer = "";
    const flush = () => { if (buffer) { parent.append(buffer); buffer = ""; } };
    // Delimiters with no closer after position n have none after any later position either.
    const noCloser = {};
    let i = 0;
    while (i < text.length) {
      const c = text[i];
      if (c === "\\" && i + 1 < text.length) {
        if (text[i + 1] === "\n") { flush(); parent.append(document.createElement("br")); i += 2; continue; }
        if (PUNCTUATION.test(text[i + 1])) { buffer += text[i + 1]; i += 2; continue; }
      }
      if (c === "\n") {
        if (/ {2,}$/.test(buffer)) {
          buffer = buffer.replace(/ +$/, "");
          flush();
          parent.append(document.createElement("br"));
        } else {
          buffer += "\n";
        }
        i++;
        continue;
      }
      if (c === "`") {
        let run = 1;
        while (text[i + run] === "`") run++;
        const fence = "`".repeat(run);
        let close = noCloser[fence] !== undefined && noCloser[fence] <= i ? -1 : text.indexOf(fence, i + run);
        while (close >= 0 && text[close + run] === "`") {
          let end = close;
          while (text[end] === "`") end++;
          close = text.indexOf(fence, end);
        }
        if (close < 0) { noCloser[fence] = Math.min(noCloser[fence] ?? i, i); buffer += fence; i += run; continue; }
        let content = text.slice(i + run, close).replace(/\n/g, " ");
        if (content.length > 1 && content.startsWith(" ") && content.endsWith(" ") && content.trim()) content = content.slice(1, -1);
        flush();
        const code = document.createElement("code");
        code.textContent = content;
        parent.append(code);
        i = close + run;
        continue;
      }
      if ((c === "[" || (c === "!" && text[i + 1] === "[")) && !inLink) {
        const image = c === "!";
        const parsed = parseLink(text, image ? i + 1 : i);
        if (parsed) {
          flush();
          // Images are not loaded (their host would learn who reads the page): they become
          // links to the picture, named by their alt text.
          const anchor = link(parsed.destination, parsed.title);
          const holder = anchor || document.createElement("span");
          if (!anchor) {
            holder.className = "unsafe-link";
            holder.title = "link removed: only http, https and relative links are allowed";
          }
          renderInline(parsed.label || (image ? "image" : ""), holder, depth + 1, true);
          parent.append(holder);
          i = parsed.end;
          continue;
        }
      }
      if (c === "<" && !inLink) {
        const match = AUTOLINK.exec(text.slice(i, i + MAX_LINK_LENGTH));
        const anchor = match && link(match[1]);
        if (anchor) {
          flush();
          anchor.textContent = match[1];
          parent.append(anchor);
          i += match[0].length;
          continue;
        }
      }
      if ((c === "h" || c === "H") && !inLink && !isWordChar(text[i - 1])) {
        const match = BARE_URL.exec(text.slice(i, i + MAX_LINK_LENGTH));
        if (match) {
          let url = match[0].replace(/[.,;:!?*_~]+$/, "");
          while (url.endsWith(")") && (url.match(/\(/g) || []).length < (url.match(/\)/g) || []).length) url = url.slice(0, -1);
          const anchor = link(url);
          if (anchor) {
            flush();
            anchor.textContent = url;
            parent.append(anchor);
            i += url.length;
            continue;
          }
        }
      }
      if (c === "*" || c === "_" || c === "~") {
        let run = 1;
        while (text[i + run] === c) run++;
        const canOpen = !isSpace(text[i + run]) && !(c === "_" && isWordChar(text[i - 1]));
        const sizes = c === "~" ? [2] : run >= 2 ? [2, 1] : [1];
        let done = false;
        for (const size of canOpen ? sizes : []) {
          if (run < size) continue;
          const delimiter = c.repeat(size);
          if (noCloser[delimiter] !== undefined && noCloser[delimiter] <= i) continue;
          const close = findCloser(text, Math.max(i + size + 1, i + run), c, size);
          if (close < 0) { noCloser[delimiter] = i; continue; }
          flush();
          const tag = c === "~" ? "del" : size === 2 ? "strong" : "em";
          const node = document.createElement(tag);
          renderInline(text.slice(i + size, close), node, depth + 1, inLink);
          parent.append(node);
          i = close + size;
          done = true;
          break;
        }
        if (!done) { buffer += c.repeat(run); i += run; }
        continue;
      }
      buffer += c;
      i++;
    }
    flush();
  }

  /**
   * Renders `source` as a DocumentFragment. Options: headingOffset (added to heading levels,
   * so `#` can sit under the page's own title).
   */
  function render(source, options = {}) {
    const lines = String(source || "").replace(/\r\n?/g, "\n").replace(/\t/g, "    ").split("\n");
    return renderBlocks(lines, 0, options);
  }

  /** Replaces `element`'s content with `source` rendered. */
  function renderInto(element, source, options) {
    element.replaceChildren(render(source, options));
    element.classList.add("markdown");
    return element;
  }

  return { render, renderInto, safeURL };
})();
