/**
 * The loading, error and empty states every page shows in place of its content:
 * `<state-view status="{{status}}" message="{{errorMessage}}" skeleton="detail" bind:retry="load" />`.
 * status: 'loading' | 'error' | 'empty' | anything else (nothing shown).
 * Loading shows a shimmering skeleton shaped like what is coming (`skeleton`: list — rows of
 * cards, the default; detail — a picture and paragraphs; grid — two columns of cards; none —
 * a spinner, for an action such as signing in) above `loadingText`. `compact` (a section of a
 * page) draws fewer rows. The error state has a 重试 button that fires `retry`; the empty state
 * shows its slot below the text (the next thing to do, e.g. a 去订货 button).
 */
const SHAPES = ['list', 'detail', 'grid', 'none'];

function blocks(skeleton, compact) {
  const shape = SHAPES.includes(skeleton) ? skeleton : 'list';
  if (shape === 'grid') return { shape, rows: compact ? [0, 1] : [0, 1, 2, 3] };
  if (shape === 'detail') return { shape, rows: compact ? [0] : [0, 1, 2] };
  return { shape, rows: compact ? [0, 1] : [0, 1, 2, 3] };
}

Component({
  options: { addGlobalClass: true },
  properties: {
    status: { type: String, value: '' },
    message: { type: String, value: '' },
    emptyText: { type: String, value: '暂无内容' },
    loadingText: { type: String, value: '加载中…' },
    compact: { type: Boolean, value: false },
    skeleton: { type: String, value: 'list' },
  },
  data: blocks('list', false),
  observers: {
    'skeleton, compact': function (skeleton, compact) {
      this.setData(blocks(skeleton, compact));
    },
  },
  lifetimes: {
    attached() {
      // Observers fire only on a change; shape the initial skeleton too.
      this.setData(blocks(this.data.skeleton, this.data.compact));
    },
  },
  methods: {
    onRetry() {
      this.triggerEvent('retry');
    },
  },
});
