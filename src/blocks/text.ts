/** Escapes text for Slack mrkdwn (only &, < and > are special). */
export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
export const context = (text: string) => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });
export const divider = () => ({ type: 'divider' });
export const user = (id: string) => `<@${id}>`;

/** A Slack date token that renders in each reader's time zone, with a UTC fallback. */
export const slackDate = (d: Date) =>
  `<!date^${Math.floor(d.getTime() / 1000)}^{date_short_pretty} at {time}|${d.toISOString().replace('T', ' ').slice(0, 16)} UTC>`;

/** Slack's limit on a section's text. Lengths here count UTF-16 units, never fewer than the characters Slack counts. */
export const SECTION_TEXT_MAX = 3000;

/**
 * `text` in pieces of at most `max` characters, nothing left out: cut at the last space or line break before the
 * limit when there is one in its second half, and never inside an escaped character (`&amp;`) or a `<…>` token
 * (mention, link, date).
 */
export function splitText(text: string, max: number = SECTION_TEXT_MAX): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > max) {
    let cut = max;
    const space = Math.max(rest.lastIndexOf(' ', max), rest.lastIndexOf('\n', max));
    if (space > max / 2) cut = space;
    else {
      const amp = rest.lastIndexOf('&', cut - 1);
      if (amp >= 0 && cut - amp < 6 && !rest.slice(amp, cut).includes(';')) cut = amp;
      const open = rest.lastIndexOf('<', cut - 1);
      if (open > 0 && rest.lastIndexOf('>', cut - 1) < open) cut = open;
      if (cut <= 0) cut = max;
    }
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^[ \n]/, '');
  }
  pieces.push(rest);
  return pieces;
}

/**
 * Lines as section blocks, packed in order into as few sections as Slack's limit allows: nothing is cut off. A line
 * longer than a section is split (splitText).
 */
export function sections(lines: readonly string[], max: number = SECTION_TEXT_MAX) {
  const texts: string[] = [];
  let current = '';
  for (const line of lines.flatMap((l) => splitText(l, max))) {
    if (current && current.length + 1 + line.length > max) {
      texts.push(current);
      current = line;
    } else current = current ? `${current}\n${line}` : line;
  }
  if (current) texts.push(current);
  return texts.map(section);
}
