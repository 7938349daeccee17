// Routes and the navigation built from them. Each area of the console keeps its pages and
// their routes in pages/<area>/routes.js; a route's meta says:
//   title  the page's name (the browser tab shows it)
//   nav    the sidebar's label, when the page is a sidebar entry
//   group  the sidebar's section for that entry
//   order  where the entry sits in the sidebar (lower first)
//   roles  who may open it: "brand", "distributor" (default: both), or a role itself
//          ("distributor_admin": a distributor's admin, not its staff)
//   bare   shown without the sidebar and header (pages made to print)
// Hash history: the platform serves one page at /console, and a copied link still opens.
import { createRouter, createWebHashHistory } from "vue-router";
import { useSession } from "./session.js";
import SignIn from "./pages/SignIn.vue";
import Forbidden from "./pages/Forbidden.vue";
import NotFound from "./pages/NotFound.vue";
import complaintRoutes from "./pages/complaints/routes.js";
import livePanelRoutes from "./pages/live-panel/routes.js";
import liveRoutes from "./pages/live/routes.js";
import claimRoutes from "./pages/claims/routes.js";
import catalogRoutes from "./pages/catalog/routes.js";
import statementRoutes from "./pages/statements/routes.js";
import orderPageRoutes from "./pages/order/routes.js";
import orderRoutes from "./pages/orders/routes.js";
import orgRoutes from "./pages/org/routes.js";
import promotionRoutes from "./pages/promotions/routes.js";
import notificationRoutes from "./pages/notifications/routes.js";
import onboardingRoutes from "./pages/onboarding/routes.js";
import staffRoutes from "./pages/staff/routes.js";
import jobRoutes from "./pages/jobs/routes.js";
import stockRoutes from "./pages/stock/routes.js";
import storeRoutes from "./pages/stores/routes.js";
import couponRoutes from "./pages/coupons/routes.js";
import accountRoutes from "./pages/accounts/routes.js";
import mallRoutes from "./pages/mall/routes.js";
import lotteryRoutes from "./pages/lottery/routes.js";
import importRoutes from "./pages/imports/routes.js";
import displayRoutes from "./pages/display/routes.js";
import codeRoutes from "./pages/codes/routes.js";
import analyticsRoutes from "./pages/analytics/routes.js";

const areas = [
  ...orderRoutes,
  ...orderPageRoutes,
  ...stockRoutes,
  ...storeRoutes,
  ...liveRoutes,
  ...livePanelRoutes,
  ...claimRoutes,
  ...statementRoutes,
  ...complaintRoutes,
  ...notificationRoutes,
  ...onboardingRoutes,
  ...staffRoutes,
  ...jobRoutes,
  ...catalogRoutes,
  ...orgRoutes,
  ...promotionRoutes,
  ...couponRoutes,
  ...accountRoutes,
  ...mallRoutes,
  ...lotteryRoutes,
  ...importRoutes,
  ...displayRoutes,
  ...codeRoutes,
  ...analyticsRoutes,
];

export function allowed(route, session) {
  const roles = route.meta?.roles;
  if (!roles) return true;
  return roles.includes(session.role) ||
    (roles.includes("brand") && session.isBrand) ||
    (roles.includes("distributor") && session.isDistributor);
}

/** The sidebar for this person: [{ group, items: [{ path, label }] }], in order. */
export function navigation(session) {
  const groups = new Map();
  areas
    .filter((route) => route.meta?.nav && allowed(route, session))
    .sort((a, b) => (a.meta.order ?? 100) - (b.meta.order ?? 100))
    .forEach((route) => {
      const group = route.meta.group || "";
      if (!groups.has(group)) groups.set(group, []);
      groups.get(group).push({ path: route.path, label: route.meta.nav });
    });
  return [...groups].map(([group, items]) => ({ group, items }));
}

/** Where a person lands after signing in: the first page of their sidebar. */
export function home(session) {
  return navigation(session)[0]?.items[0]?.path || "/complaints";
}

export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: "/login", name: "login", component: SignIn, meta: { title: "登录", public: true } },
    // Signed out, "/" goes to the sign-in page with no `next`: the home of whoever signs in
    // is known only then (a distributor lands on its orders, not on a page for everyone).
    {
      path: "/",
      name: "home",
      redirect: () => (useSession().signedIn ? home(useSession()) : { name: "login" }),
    },
    ...areas,
    { path: "/forbidden", name: "forbidden", component: Forbidden, meta: { title: "无权访问" } },
    { path: "/:rest(.*)*", name: "not-found", component: NotFound, meta: { title: "页面不存在" } },
  ],
});

router.beforeEach((to) => {
  const session = useSession();
  if (!to.meta.public && !session.signedIn) {
    return { name: "login", query: to.fullPath !== "/" ? { next: to.fullPath } : {} };
  }
  if (to.name === "login" && session.signedIn) return home(session);
  if (!allowed(to, session)) return { name: "forbidden" };
  return true;
});

router.afterEach((to) => {
  document.title = to.meta.title ? `${to.meta.title} · b2bc 管理后台` : "b2bc 管理后台";
});
