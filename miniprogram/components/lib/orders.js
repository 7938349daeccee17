/**
 * Order statuses as a store owner sees them, and what the store may do in each: the same
 * table as backend/ordering/states.py (the server refuses anything else anyway).
 */

const STATUS_NAMES = {
  pending_payment: '待付款',
  paid: '待接单',
  accepted: '待发货',
  shipped: '已发货',
  delivered: '已送达',
  completed: '已完成',
  cancelled: '已取消',
};

// The tabs of the order list: '' is every order.
const STATUS_TABS = [
  { status: '', name: '全部' },
  { status: 'pending_payment', name: '待付款' },
  { status: 'paid', name: '待接单' },
  { status: 'accepted', name: '待发货' },
  { status: 'shipped', name: '已发货' },
  { status: 'delivered', name: '已送达' },
  { status: 'completed', name: '已完成' },
  { status: 'cancelled', name: '已取消' },
];

const CHANNEL_NAMES = { self: '自主下单', proxy: '业务员代下单', live: '直播下单' };

// What each move in the timeline means to the store.
const EVENT_TITLES = {
  pending_payment: '提交订单',
  paid: '支付成功',
  accepted: '经销商已接单',
  shipped: '经销商已发货',
  delivered: '已送达',
  completed: '已签收',
  cancelled: '订单已取消',
};

/** The buttons an order shows, by status (store roles). */
function actionsFor(status) {
  return {
    canPay: status === 'pending_payment',
    // Before the distributor accepts; a paid order is refunded in full.
    canCancel: status === 'pending_payment' || status === 'paid',
    canSign: status === 'shipped' || status === 'delivered',
    canReorder: status !== 'pending_payment',
  };
}

function statusName(status) {
  return STATUS_NAMES[status] || status || '';
}

module.exports = { STATUS_NAMES, STATUS_TABS, CHANNEL_NAMES, EVENT_TITLES, actionsFor, statusName };
