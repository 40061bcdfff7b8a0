namespace DmaReplay.Reports.Html;

/// <summary>The report's only stylesheet, inlined: the file must work offline and alone, so no fonts or links.</summary>
internal static class HtmlStyle
{
    public const string Css = """
        :root { --fg: #1f2328; --muted: #656d76; --line: #d8dee4; --head: #f3f5f7; --stripe: #fafbfc; --accent: #0b5cad; --bad: #b42318; --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; }
        * { box-sizing: border-box; }
        body { margin: 0; color: var(--fg); background: #fff; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
        header.page { background: #0f2a44; color: #fff; padding: 20px 32px 18px; }
        header.page h1 { margin: 0; font-size: 22px; font-weight: 600; }
        header.page .meta { margin: 2px 0 14px; color: #b9c7d6; }
        .stats { display: flex; flex-wrap: wrap; gap: 10px; margin: 0; padding: 0; list-style: none; }
        .stats li { background: rgba(255,255,255,.08); border: 1px solid rgba(255,255,255,.15); border-radius: 6px; padding: 6px 14px; min-width: 120px; }
        .stats .value { display: block; font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
        .stats .label { color: #b9c7d6; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
        main { padding: 8px 32px 32px; max-width: 1400px; }
        section { margin-top: 28px; }
        h2 { font-size: 18px; font-weight: 600; margin: 0 0 10px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
        h2 .path { display: block; font-size: 13px; font-weight: 400; color: var(--muted); margin-top: 2px; }
        h3 { font-size: 14px; font-weight: 600; margin: 18px 0 8px; }
        code, .path, td.mono { font-family: var(--mono); font-size: 12.5px; word-break: break-all; }
        .muted { color: var(--muted); }
        .error { color: var(--bad); background: #fef3f2; border: 1px solid #fecdca; border-radius: 6px; padding: 8px 12px; }
        .table-wrap { overflow-x: auto; }
        table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 0 0 4px; }
        th, td { padding: 5px 12px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
        th { background: var(--head); font-weight: 600; font-size: 12.5px; color: #3d444d; white-space: nowrap; }
        tbody tr:nth-child(even) td { background: var(--stripe); }
        td.num, th.num { text-align: right; white-space: nowrap; }
        table.inputs td:first-child, table.diagnostics td:first-child, table.diagnostics td:last-child, table.finding-groups td:nth-child(4) { font-family: var(--mono); font-size: 12.5px; word-break: break-all; }
        table.diagnostics td:last-child { white-space: pre-wrap; }
        .cols { display: flex; flex-wrap: wrap; gap: 8px 40px; }
        .cols > div { min-width: 280px; }
        figure.chart { margin: 0; max-width: 980px; }
        figure.chart > svg { width: 100%; height: auto; display: block; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
        .chart text { font-size: 12px; fill: #57606a; }
        .chart .axis-label { font-size: 12.5px; fill: #3d444d; }
        .chart .grid line { stroke: #eaeef2; stroke-width: 1; }
        .chart .ticks line, .chart .axes path { stroke: #8c959f; stroke-width: 1; fill: none; }
        .chart .series path { fill: none; stroke-width: 1.8; stroke-linejoin: round; }
        .legend { display: flex; flex-wrap: wrap; gap: 4px 20px; list-style: none; margin: 8px 0 0; padding: 0; }
        .legend li { display: flex; align-items: center; gap: 6px; }
        .legend .swatch { width: 24px; height: 10px; }
        .legend .swatch line { stroke-width: 3; }
        .legend .name { font-family: var(--mono); font-size: 12.5px; }
        footer { color: var(--muted); font-size: 12px; padding: 16px 32px 24px; border-top: 1px solid var(--line); }
        """;

    /// <summary>The rules only a replay's sections use; a check report does not carry them.</summary>
    public const string ReplayCss = """
        .platform code { background: var(--head); border-radius: 4px; padding: 1px 6px; }
        ul.provenance { margin: 0; padding-left: 20px; }
        ul.provenance li { font-family: var(--mono); font-size: 12.5px; margin: 2px 0; }
        .figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 10px; margin: 4px 0 8px; padding: 0; list-style: none; max-width: 980px; }
        .figures li { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; background: var(--stripe); }
        .figures .label { display: block; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
        .figures .value { display: block; font-size: 19px; font-weight: 600; font-variant-numeric: tabular-nums; }
        .figures .note { display: block; color: var(--muted); font-size: 12.5px; }
        .figures .note.ok { color: #1a7f37; }
        .figures .note.bad { color: var(--bad); }
        .cols.charts { max-width: 980px; gap: 16px 20px; margin-top: 22px; }
        figure.chart.small { flex: 1 1 420px; max-width: 480px; }
        figure.chart h4 { font-size: 13px; font-weight: 600; margin: 0 0 6px; }
        table.mismatches td:nth-child(5), table.mismatches td:nth-child(7), table.mismatches td:nth-child(8) { font-family: var(--mono); font-size: 12.5px; }
        """;
}
