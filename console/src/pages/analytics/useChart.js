// What every analytics chart shares: ECharts, imported piece by piece (only the line, bar,
// pie and funnel charts and the parts they draw ship with the pages), drawn into an element,
// redrawn when its data changes and resized with the window.
import { onBeforeUnmount, onMounted, watch } from "vue";
import { init, use } from "echarts/core";
import { BarChart, FunnelChart, LineChart, PieChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

use([BarChart, FunnelChart, LineChart, PieChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

/** Yuan from fen, for axes and tooltips: "¥1,234" (whole yuan: charts show sizes). */
export const axisYuan = (fen) => `¥${Math.round(fen / 100).toLocaleString("zh-CN")}`;

/** Draws `option()` into the element `target` (a ref) now and whenever `source()` changes. */
export function useChart(target, source, option) {
  let chart = null;
  const draw = () => chart?.setOption({ animation: false, ...option() }, true);
  const resize = () => chart?.resize();
  onMounted(() => {
    chart = init(target.value);
    draw();
    window.addEventListener("resize", resize);
  });
  watch(source, draw, { deep: true });
  onBeforeUnmount(() => {
    window.removeEventListener("resize", resize);
    chart?.dispose();
  });
}
