// The signed-in person's notifications as the bell and the notifications page share them:
// the unread count and the latest few, kept current by the push "notification.created"
// (sent to this person's own room only) and re-read whenever the realtime link comes back,
// since pushes sent while it was down are not replayed.
import { defineStore } from "pinia";
import { api } from "../../api.js";

export const LATEST = 8; // how many the bell's popover shows

export const useInbox = defineStore("inbox", {
  // `pushes`: how many pushes arrived, so that a read started before one of them is not
  // taken over it (it would drop the pushed notification and its count).
  state: () => ({ unread: 0, latest: [], state: "loading", error: "", pushes: 0 }),
  actions: {
    async refresh() {
      const pushes = this.pushes;
      try {
        const page = await api("/notifications", { query: { limit: LATEST } });
        if (this.pushes !== pushes) return this.refresh(); // may predate a push: read again
        this.latest = page.items;
        this.unread = page.unread;
        this.state = "ready";
        this.error = "";
      } catch (failure) {
        this.state = "error";
        this.error = failure.message;
      }
    },
    /** A pushed notification: at the top, counted unread. */
    arrived(notification) {
      this.pushes += 1;
      if (this.latest.some((n) => n.id === notification.id)) return;
      this.latest = [notification, ...this.latest].slice(0, LATEST);
      if (!notification.read) this.unread += 1;
    },
    /** Marks one read (the server first; the count only once it agreed). */
    async markRead(notification) {
      if (notification.read) return;
      await api(`/notifications/${notification.id}/read`, { method: "POST" });
      notification.read = true;
      this.latest.filter((n) => n.id === notification.id).forEach((n) => (n.read = true));
      this.unread = Math.max(0, this.unread - 1);
    },
    /** Marks read everything up to the newest one shown, so one arriving meanwhile stays unread. */
    async markAllRead(upTo) {
      const body = upTo ? { up_to: upTo } : {};
      const answer = await api("/notifications/read-all", { method: "POST", body });
      this.latest.filter((n) => !upTo || n.id <= upTo).forEach((n) => (n.read = true));
      this.unread = answer.unread;
      return answer;
    },
  },
});
