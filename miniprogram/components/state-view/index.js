/**
 * The loading, error and empty states every page shows in place of its content:
 * `<state-view status="{{status}}" message="{{errorMessage}}" bind:retry="load" />`.
 * status: 'loading' | 'error' | 'empty' | anything else (nothing shown).
 * The error state has a 重试 button that fires `retry`; the empty state shows its slot
 * below the text (e.g. a 去订货 button).
 */
Component({
  options: { addGlobalClass: true },
  properties: {
    status: { type: String, value: '' },
    message: { type: String, value: '' },
    emptyText: { type: String, value: '暂无内容' },
    loadingText: { type: String, value: '加载中…' },
    compact: { type: Boolean, value: false },
  },
  methods: {
    onRetry() {
      this.triggerEvent('retry');
    },
  },
});
