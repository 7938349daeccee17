// Who is signed in, shared by every page (Pinia): the identity from the tokens, the profile
// from /me, and what the role may see. The API module keeps the tokens; this mirrors them.
import { defineStore } from "pinia";
import { session, signIn, signOut } from "./api.js";
import { ROLE, isBrandRole, isDistributorRole } from "./format.js";

export const useSession = defineStore("session", {
  state: () => ({ current: session.get() }),
  getters: {
    signedIn: (state) => Boolean(state.current?.accessToken),
    role: (state) => state.current?.identity?.role || "",
    isBrand() {
      return isBrandRole(this.role);
    },
    isDistributor() {
      return isDistributorRole(this.role);
    },
    membership: (state) =>
      state.current?.profile?.memberships?.find(
        (m) => m.id === state.current?.identity?.membership_id,
      ) || null,
    /** "王敏 · 经销商管理员" */
    who() {
      const profile = this.current?.profile;
      const name = profile?.display_name || profile?.username || "";
      return `${name} · ${ROLE[this.role] || this.role}`;
    },
    /** The brand's or distributor's name the person works for. */
    scope() {
      return this.membership?.distributor?.name || this.membership?.brand?.name || "";
    },
  },
  actions: {
    watch() {
      return session.subscribe((value) => {
        this.current = value;
      });
    },
    async signIn(username, password) {
      const signedIn = await signIn(username, password);
      const role = signedIn.identity?.role || "";
      if (!isBrandRole(role) && !isDistributorRole(role)) {
        await signOut();
        throw new Error("该账号不是品牌或经销商员工，不能登录管理后台");
      }
      this.current = signedIn;
    },
    async signOut() {
      await signOut();
      this.current = null;
    },
  },
});
