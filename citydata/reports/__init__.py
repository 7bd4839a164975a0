"""What people read: the monthly/quarterly KPI report (kpi_report), the per-delivery validation report
(validation) and the dashboard's data (dashboard). Offline zh-CN HTML by default, English available."""
