/**
 * A list page that pages by keyset ("加载更多" and on reaching the bottom), as a Behavior the
 * page mixes in: the loading / empty / error states, a quiet reload that keeps what is shown
 * (pull-down, coming back to the page), and answers that arrive after a newer reload (a tab
 * switched, a new search) thrown away.
 *
 * The page provides `fetchPage(cursor)`: one page from the API, `cursor` null for the first,
 * resolving to `{ items, next }` (items already shaped for the view, each with an `id`;
 * `next` the cursor of the following page, or null at the end). It may define `afterPage()`,
 * called after items change (e.g. to tag them).
 *
 * Data it keeps: status ('loading' | 'ready' | 'empty' | 'error'), errorMessage, items,
 * nextCursor, loadingMore, moreError.
 *
 * setData stays small however long the list grows: the next page is appended by path
 * (`items[20]`, `items[21]`, …) and a quiet reload sends only the rows that changed;
 * `afterPage(added, { appended })` is given the items just added: all of them after a
 * reload, only the next page's (appended: true) after loadMore.
 */
const { errorMessage, redirectIfSignedOut, toastError } = require('./errors');
const { appendPatch, diffPatch } = require('./patch');

module.exports = Behavior({
  data: {
    status: 'loading',
    errorMessage: '',
    items: [],
    nextCursor: null,
    loadingMore: false,
    moreError: '',
  },
  methods: {
    /** The first page again. `quiet`: keep the list on screen while it loads (and on error). */
    async reload(options) {
      const quiet = Boolean(options && options.quiet && this.data.status === 'ready');
      this.listSeq = (this.listSeq || 0) + 1;
      const seq = this.listSeq;
      if (!quiet) this.setData({ status: 'loading', errorMessage: '', items: [], nextCursor: null });
      this.setData({ moreError: '' });
      try {
        const page = await this.fetchPage(null);
        if (seq !== this.listSeq) return; // a newer reload has started
        this.setData(Object.assign(diffPatch('items', this.data.items, page.items), {
          nextCursor: page.next || null,
          status: page.items.length ? 'ready' : 'empty',
        }));
        if (this.afterPage) this.afterPage(page.items, { appended: false });
      } catch (err) {
        if (seq !== this.listSeq || redirectIfSignedOut(err)) return;
        if (quiet) toastError(err);
        else this.setData({ status: 'error', errorMessage: errorMessage(err) });
      }
    },
    /** The next page, appended (items already shown are not shown twice). */
    async loadMore() {
      const { nextCursor, loadingMore, status } = this.data;
      if (!nextCursor || loadingMore || status !== 'ready') return;
      const seq = this.listSeq;
      this.setData({ loadingMore: true, moreError: '' });
      try {
        const page = await this.fetchPage(nextCursor);
        if (seq !== this.listSeq) return;
        const seen = new Set(this.data.items.map((item) => item.id));
        const more = page.items.filter((item) => !seen.has(item.id));
        this.setData(Object.assign(appendPatch('items', this.data.items, more), { nextCursor: page.next || null }));
        if (this.afterPage) this.afterPage(more, { appended: true });
      } catch (err) {
        if (seq === this.listSeq && !redirectIfSignedOut(err)) {
          this.setData({ moreError: errorMessage(err) });
        }
      } finally {
        if (seq === this.listSeq) this.setData({ loadingMore: false });
      }
    },
    onReachBottom() {
      return this.loadMore();
    },
    onRetry() {
      return this.reload();
    },
  },
});
