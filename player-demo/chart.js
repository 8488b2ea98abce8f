/**
 * The player page's live chart (player.js, Chart.js): the rendition's bitrate, hls.js's bandwidth
 * estimate and the shaped link rate in Mbit/s, and the buffer in seconds on a second axis, against
 * seconds since playback started.
 */
/* global Chart */

/** Creates the chart on `canvas`; datasets in the order player.js fills them. */
export function createChart(canvas) {
  return new Chart(canvas, {
    type: 'line',
    data: {
      datasets: [
        { label: 'rendition bitrate', data: [], borderColor: '#4ea1ff', stepped: true, pointRadius: 0, yAxisID: 'rate' },
        { label: 'bandwidth estimate', data: [], borderColor: '#f2a33a', pointRadius: 0, yAxisID: 'rate' },
        { label: 'link rate (shaped)', data: [], borderColor: '#7bd88f', stepped: true, pointRadius: 0, borderDash: [6, 4], yAxisID: 'rate' },
        { label: 'buffer', data: [], borderColor: '#c678dd', pointRadius: 0, yAxisID: 'buffer' },
      ],
    },
    options: {
      animation: false,
      parsing: false,
      responsive: true,
      maintainAspectRatio: false,
      scales: {
        x: { type: 'linear', title: { display: true, text: 'seconds', color: '#999' }, ticks: { color: '#999' } },
        rate: { type: 'linear', position: 'left', title: { display: true, text: 'Mbit/s', color: '#999' }, ticks: { color: '#999' }, beginAtZero: true },
        buffer: { type: 'linear', position: 'right', title: { display: true, text: 'buffer (s)', color: '#999' }, ticks: { color: '#999' }, beginAtZero: true, grid: { drawOnChartArea: false } },
      },
      plugins: { legend: { labels: { color: '#ddd' } } },
    },
  });
}
