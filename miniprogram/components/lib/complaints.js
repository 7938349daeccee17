/**
 * Complaints as a store owner reads them: the categories the API takes
 * (backend/complaints/routes.py), who did each step, and what each step means.
 */

const CATEGORIES = [
  { value: 'quality', name: '质量问题' },
  { value: 'damaged', name: '货损' },
  { value: 'delivery', name: '配送延迟或未送达' },
  { value: 'wrong_goods', name: '发错货' },
  { value: 'service', name: '经销商服务' },
  { value: 'promotion', name: '活动未兑现' },
  { value: 'other', name: '其他' },
];

const CONTACTS = [
  { value: 'phone', name: '电话联系' },
  { value: 'wechat', name: '微信联系' },
  { value: 'none', name: '无需联系' },
];

// The API sends status_name; these are for a status it may not name.
const STATUS_NAMES = {
  new: '待受理',
  acknowledged: '品牌已受理',
  assigned: '已转经销商处理',
  responded: '经销商已答复',
  resolved: '已解决，待您确认',
  reopened: '已重新打开',
  closed: '已关闭',
};

const STEP_TITLES = {
  new: '提交投诉',
  acknowledged: '品牌已受理',
  assigned: '已转交经销商处理',
  responded: '经销商已答复',
  resolved: '品牌已标记解决',
  reopened: '您已重新打开',
  closed: '投诉已关闭',
};

const ACTORS = {
  store_owner: '门店',
  store_clerk: '门店',
  distributor_admin: '经销商',
  distributor_staff: '经销商',
  brand_admin: '品牌',
  brand_ops: '品牌',
};

const REOPEN_DAYS = 7; // backend/complaints/service.py REOPEN_WINDOW

function categoryName(value) {
  const found = CATEGORIES.find((c) => c.value === value);
  return found ? found.name : '其他';
}

function statusName(complaint) {
  return complaint.status_name || STATUS_NAMES[complaint.status] || complaint.status || '';
}

/** One timeline event as the store reads it. */
function describeEvent(event) {
  let title = '留言';
  if (event.to_status) title = STEP_TITLES[event.to_status] || event.to_status;
  if (event.to_status === 'acknowledged' && event.from_status === 'reopened') title = '品牌已重新受理';
  if (!event.to_status && !event.actor_role) title = '系统提醒';
  return {
    key: String(event.id),
    title,
    actor: ACTORS[event.actor_role] || (event.actor_role ? '' : '系统'),
    message: event.message || '',
  };
}

module.exports = { CATEGORIES, CONTACTS, STATUS_NAMES, STEP_TITLES, ACTORS, REOPEN_DAYS, categoryName, statusName, describeEvent };
