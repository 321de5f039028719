/**
 * Panels that refresh without lying: the first load shows "Loading…", later refreshes keep the
 * drawn data (marked stale while the request runs), and a failed refresh keeps the last good
 * data under an error banner instead of replacing it. "Updated HH:MM:SS" only moves when every
 * panel of a round answered, so it always says how old the data on screen is.
 * @module
 */
import { h, replace, status } from '../dom.ts';

/** One refresh round's result per panel. */
type Outcome = 'ok' | 'failed' | 'aborted';

/** A dashboard's refresh state: its banner, its "Updated" line and its panels. */
export interface Live {
  /** The error banner (hidden while the API answers); place it above the panels. */
  banner: HTMLElement;
  /** "Updated HH:MM:SS UTC"; place it in the page head. */
  updated: HTMLElement;
  /** Loads one panel: on a refresh the old content stays until the new one is drawn. */
  section<T>(body: HTMLElement, load: () => Promise<T>, draw: (v: T) => Node, what: string): Promise<Outcome>;
  /** Runs one round of sections and updates the banner and the "Updated" line. */
  round(work: Promise<Outcome>[]): Promise<void>;
}

const hms = (d: Date) => d.toISOString().slice(11, 19);

/** Creates the refresh state of one page render. */
export function createLive(): Live {
  const banner = h('p', { class: 'status error banner', role: 'alert', hidden: true });
  const updated = h('span', { class: 'updated', 'aria-live': 'polite', 'data-testid': 'updated' });
  let lastGood: Date | null = null;
  let lastError = '';
  return {
    banner,
    updated,
    async section(body, load, draw, what) {
      const loaded = body.dataset['loaded'] === 'true';
      if (loaded) body.classList.add('stale');
      else replace(body, status('Loading…'));
      try {
        const v = await load();
        replace(body, draw(v));
        body.dataset['loaded'] = 'true';
        body.classList.remove('stale');
        return 'ok';
      } catch (err) {
        if ((err as Error).name === 'AbortError') return 'aborted';
        lastError = `${what}: ${(err as Error).message}`;
        // Keep what was drawn: stale data with a banner beats an error where the chart was.
        if (!loaded) replace(body, status(`Could not load ${what}: ${(err as Error).message}`, 'error'));
        return 'failed';
      }
    },
    async round(work) {
      const outcomes = await Promise.all(work);
      if (outcomes.includes('aborted')) return;
      if (outcomes.includes('failed')) {
        banner.hidden = false;
        replace(
          banner,
          `The API is not answering (${lastError}).`,
          lastGood ? ` Showing data from ${hms(lastGood)} UTC.` : '',
        );
        return;
      }
      lastGood = new Date();
      banner.hidden = true;
      updated.textContent = `Updated ${hms(lastGood)} UTC`;
    },
  };
}
