// The wall display's ECharts: only what it draws (a map of GeoJSON
// regions, a treemap for regions without shapes, tooltips) on the canvas
// renderer, so the bundle stays a fraction of the full
// library. build.sh bundles this with esbuild into dist/wall/echarts.js, an
// ES module that src/wall/wall.js imports.
import * as echarts from 'echarts/core';
import { MapChart, TreemapChart } from 'echarts/charts';
import { TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([MapChart, TreemapChart, TooltipComponent, CanvasRenderer]);

export { echarts };
