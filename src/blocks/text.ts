/** Escapes text for Slack mrkdwn (only &, < and > are special). */
export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
export const context = (text: string) => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });
export const divider = () => ({ type: 'divider' });
export const user = (id: string) => `<@${id}>`;

/** A Slack date token that renders in each reader's time zone, with a UTC fallback. */
export const slackDate = (d: Date) =>
  `<!date^${Math.floor(d.getTime() / 1000)}^{date_short_pretty} at {time}|${d.toISOString().replace('T', ' ').slice(0, 16)} UTC>`;
