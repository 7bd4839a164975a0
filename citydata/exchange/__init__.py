"""The exchange (共享交换): consuming departments read the sharing layer through an API, ask for
conditionally shared resources (供需对接), object to wrong values (异议处理), every call audited.

Modules: tokens (consumers and bearer tokens), access (requests, approvals, grants), rows (cursor
paging of the sharing layer), objections, access_log, catalog (JSON and DCAT), usage (report and
dashboard figures), api (the FastAPI app), cli (the `citydata` subcommands). See docs/exchange.md.
"""
