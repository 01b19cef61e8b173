// Pieces shared by the admin pages.

import { download } from '../api.js';
import { h, showError } from '../dom.js';

export const QUESTION_TYPES = [
  ['single_choice', 'Single choice'],
  ['multiple_choice', 'Multiple choice'],
  ['true_false', 'True / false'],
  ['short_text', 'Short text'],
  ['numeric', 'Numeric'],
  ['essay', 'Essay'],
];
export const typeLabel = (type) => QUESTION_TYPES.find(([t]) => t === type)?.[1] || type;

export const STATUS_LABELS = {
  draft: 'Draft', published: 'Published', archived: 'Archived',
  in_progress: 'In progress', submitted: 'Submitted', graded: 'Graded',
  queued: 'Queued', running: 'Running', succeeded: 'Finished', failed: 'Failed',
};

export function statusPill(status) {
  return h('span', { class: `pill status-${status}`, text: STATUS_LABELS[status] || status });
}

/** The tabs of one exam's admin pages. */
export function examTabs(examId, currentTab) {
  const tabs = [
    ['edit', `#/admin/exams/${examId}`, 'Exam'],
    ['roster', `#/admin/exams/${examId}/roster`, 'Roster'],
    ['grading', `#/admin/exams/${examId}/grading`, 'Grading queue'],
    ['regrade', `#/admin/exams/${examId}/regrade`, 'Regrade'],
    ['analysis', `#/admin/exams/${examId}/analysis`, 'Analysis'],
    ['audit', `#/admin/exams/${examId}/audit`, 'Audit'],
  ];
  return h('nav', { class: 'tabs', 'aria-label': 'This exam' }, h('ul', {}, tabs.map(([key, href, label]) =>
    h('li', {}, h('a', { href, text: label, 'aria-current': key === currentTab ? 'page' : null })))));
}

/** A button that downloads a file through the API (the request carries the token). */
export function downloadButton(label, path, fallbackName, errors, query) {
  const button = h('button', { type: 'button', class: 'secondary', text: label });
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await download(path, fallbackName, typeof query === 'function' ? query() : query);
      showError(errors, null);
    } catch (err) {
      showError(errors, err);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

/** Filters kept in the page's hash (#/admin/people?q=ada&page=2), with defaults. */
export function queryOf(defaults) {
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  const found = {};
  for (const [key, value] of Object.entries(defaults)) {
    const given = params.get(key);
    found[key] = given === null ? value : typeof value === 'number' ? Number(given) || value : given;
  }
  return found;
}

/** The hash for a page with these filters; empty ones and page 1 are left out. */
export function hashFor(base, filters) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value && !(key === 'page' && value === 1)) params.set(key, value);
  const qs = params.toString();
  return `${base}${qs ? `?${qs}` : ''}`;
}

/** Previous / Next for a list with an X-Pagination header; nothing for a single page. */
export function pager(pages, goTo) {
  if (!pages?.total_pages || pages.total_pages <= 1) return null;
  return h('nav', { class: 'pager', 'aria-label': 'Pages' },
    h('button', { type: 'button', class: 'secondary', text: 'Previous', disabled: !pages.previous_page, onclick: () => goTo(pages.previous_page) }),
    h('span', { text: `Page ${pages.page} of ${pages.total_pages}` }),
    h('button', { type: 'button', class: 'secondary', text: 'Next', disabled: !pages.next_page, onclick: () => goTo(pages.next_page) }));
}

/** "1 student", "3 students". */
export const count = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Repeat `fn` every `ms` while the page is shown; pauses in a hidden tab. Returns stop(). */
export function every(ms, fn) {
  let timer = null;
  let stopped = false;
  const loop = async () => {
    if (stopped) return;
    if (document.visibilityState === 'visible') {
      try {
        await fn();
      } catch {
        // The next round tries again; the page shows the last good data meanwhile.
      }
    }
    if (!stopped) timer = setTimeout(loop, ms);
  };
  timer = setTimeout(loop, ms);
  return () => { stopped = true; clearTimeout(timer); };
}
