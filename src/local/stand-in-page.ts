import { readFileSync } from 'node:fs';

/** The stand-in's page: one HTML file with its own small vanilla script (no framework, nothing to build). */
export const STAND_IN_PAGE = readFileSync(new URL('./stand-in-page.html', import.meta.url), 'utf8');
