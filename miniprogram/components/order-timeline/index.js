/**
 * An order's history, newest first: `<order-timeline events="{{order.timeline}}" />`, with
 * the events as GET /orders/<id> returns them ({from_status, to_status, actor_role, note, at}).
 */
const { EVENT_TITLES } = require('../lib/orders');
const { formatTime } = require('../lib/format');

const ACTORS = {
  store_owner: '门店',
  store_clerk: '门店',
  salesperson: '业务员',
  distributor_admin: '经销商',
  distributor_staff: '经销商',
  brand_admin: '品牌',
  brand_ops: '品牌',
};

function describe(event, index) {
  let title = EVENT_TITLES[event.to_status] || event.to_status;
  if (event.to_status === 'cancelled' && !event.actor_role) title = '超时未支付，订单已关闭';
  return {
    key: `${index}-${event.at}`,
    title,
    time: formatTime(event.at),
    actor: ACTORS[event.actor_role] || '',
    note: event.note || '',
  };
}

function build(events) {
  const list = Array.isArray(events) ? events : [];
  return list.map(describe).reverse();
}

Component({
  options: { addGlobalClass: true },
  properties: {
    events: { type: Array, value: [] },
  },
  data: { items: [] },
  observers: {
    events(events) {
      this.setData({ items: build(events) });
    },
  },
  lifetimes: {
    attached() {
      this.setData({ items: build(this.data.events) });
    },
  },
});
