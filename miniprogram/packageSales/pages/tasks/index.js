/**
 * 补货任务: the salesperson's open tasks (GET /sales-tasks, by id, paged by `after`), such as
 * a store due to reorder a product it buys regularly ("张记店 通常每 30 天订一次 滤芯，上次下单已
 * 34 天"). 已跟进 (POST /sales-tasks/<id>/done) or 忽略 (.../dismiss) closes one; a task
 * closed already (409 analytics.task_closed, e.g. from another phone) is marked so. A closed
 * task stays in the list, marked, until the next reload. The store's name opens its page,
 * where 代下单 starts.
 */
const api = require('../../../utils/api');
const pagedList = require('../../../components/lib/paged-list');
const { endPullDown } = require('../../../components/lib/pull-down');
const { redirectIfSignedOut, toastError } = require('../../../components/lib/errors');
const { requireSalesperson } = require('../../lib/sales');

const PAGE_SIZE = 20;
const CLOSED = { done: '已跟进', dismissed: '已忽略' };

function dayText(day) {
  const parts = String(day || '').split('-');
  return parts.length === 3 ? `${Number(parts[1])}月${Number(parts[2])}日` : '';
}

function present(task) {
  const store = task.store || {};
  return {
    id: task.id,
    storeId: store.id,
    store: store.name || '',
    product: (task.sku && task.sku.name) || '',
    text: task.text || '',
    due: dayText(task.due_day) ? `应补货日 ${dayText(task.due_day)}` : '',
    closed: task.status === 'open' ? '' : CLOSED[task.status] || '已处理',
  };
}

Component({
  behaviors: [pagedList],
  data: {
    closing: false,
  },
  methods: {
    onLoad() {
      if (!requireSalesperson()) return Promise.resolve();
      return this.reload();
    },
    onShow() {
      // Back from a store's page (perhaps after an order for it): the list as it is now.
      if (this.shown) this.reload({ quiet: true });
      this.shown = true;
    },
    onPullDownRefresh() {
      return endPullDown(this.reload({ quiet: true }));
    },
    async fetchPage(after) {
      const query = { limit: PAGE_SIZE };
      if (after) query.after = after;
      const answer = await api.get('/sales-tasks', query);
      return { items: (answer.items || []).map(present), next: answer.next_after };
    },
    at(id) {
      return this.data.items.findIndex((i) => i.id === Number(id));
    },
    onOpenStore(e) {
      const row = this.data.items[this.at(e.currentTarget.dataset.id)];
      if (row && row.storeId) wx.navigateTo({ url: `/packageSales/pages/store/index?id=${row.storeId}` });
    },
    onDone(e) {
      return this.close(e.currentTarget.dataset.id, 'done');
    },
    onDismiss(e) {
      return this.close(e.currentTarget.dataset.id, 'dismiss');
    },
    close(id, action) {
      return api.withButtonLock(this, 'closing', async () => {
        const i = this.at(id);
        if (i < 0 || this.data.items[i].closed) return;
        try {
          const task = await api.post(`/sales-tasks/${id}/${action}`, {});
          this.setData({ [`items[${i}].closed`]: CLOSED[task.status] || '已处理' });
          wx.showToast({ title: action === 'done' ? '已跟进' : '已忽略', icon: 'success' });
        } catch (err) {
          if (redirectIfSignedOut(err)) return;
          if (err && err.code === 'analytics.task_closed') {
            this.setData({ [`items[${i}].closed`]: '已处理' });
          }
          toastError(err);
        }
      });
    },
  },
});
