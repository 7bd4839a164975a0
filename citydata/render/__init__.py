"""Presentation helpers shared by the reports, the dashboard and the emails: HTML, SVG charts,
number formatting and the one language-code scheme ("zh-CN", "en")."""
