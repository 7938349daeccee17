// The words of live sessions (直播订货会) as the console shows them.

export const LIVE_STATUS = { scheduled: "未开始", live: "直播中", ended: "已结束" };
export const LIVE_STATUS_TAG = { scheduled: "warning", live: "danger", ended: "info" };

export const AUDIENCE = { all: "全部门店", tags: "按标签", stores: "指定门店" };

export const ELIGIBILITY = {
  present: "开奖时在直播间的门店",
  ordered: "本场下过单的门店",
  invited: "全部受邀门店",
};
