// llmotel experiments report: tabs, and the record tables (sort, filter, pages, details) built from the JSON
// in #llmotel-data. Record text is only ever set as text (textContent), never parsed as HTML.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("llmotel-data").textContent);
  var CELL = 160; // characters of a text shown in a table cell (all of it in the row's details)

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined) return;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else node.setAttribute(key, value);
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  // numbers as Python's "{:.4g}" writes them (the terminal report's format)
  function fmt(v) {
    if (v === null || v === undefined) return "-";
    if (typeof v === "boolean") return v ? "true" : "false";
    if (typeof v === "number") {
      if (Number.isInteger(v) && Math.abs(v) < 1e16) return String(v);
      if (v === 0) return "0";
      var exponent = Math.floor(Math.log10(Math.abs(Number(v.toPrecision(4)))));
      if (exponent < -4 || exponent >= 4) {
        var parts = v.toExponential(3).split("e");
        var mantissa = parts[0].indexOf(".") >= 0 ? parts[0].replace(/0+$/, "").replace(/\.$/, "") : parts[0];
        var sign = parts[1].charAt(0) === "-" ? "-" : "+";
        var digits = parts[1].replace(/^[+-]/, "");
        return mantissa + "e" + sign + (digits.length < 2 ? "0" + digits : digits);
      }
      return String(Number(v.toPrecision(4)));
    }
    return String(v);
  }

  function short(text) {
    text = text === null || text === undefined ? "" : String(text);
    return text.length > CELL ? text.slice(0, CELL) + "…" : text;
  }

  function traceLinks(ids, label) {
    if (!data.trace_url || !ids || !ids.length) return null;
    var span = el("span", {});
    ids.forEach(function (id, i) {
      if (!id) return;
      var href = data.trace_url.split("{trace_id}").join(encodeURIComponent(id));
      if (i) span.appendChild(document.createTextNode(" "));
      span.appendChild(el("a", {href: href, target: "_blank", rel: "noopener noreferrer", class: "trace",
        text: (label || "trace") + (ids.length > 1 ? " " + (i + 1) : "")}));
    });
    return span;
  }

  function diffNode(segments) {
    var span = el("span", {class: "diff"});
    segments.forEach(function (segment) {
      var op = segment[0], text = segment[1];
      span.appendChild(op === "=" ? document.createTextNode(text) : el(op === "-" ? "del" : "ins", {text: text}));
    });
    return span;
  }

  function compareValues(a, b) {
    var emptyA = a === null || a === undefined || a === "", emptyB = b === null || b === undefined || b === "";
    if (emptyA || emptyB) return emptyA === emptyB ? 0 : (emptyA ? 1 : -1); // missing values last
    if (typeof a === "boolean") a = a ? 1 : 0;
    if (typeof b === "boolean") b = b ? 1 : 0;
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b), undefined, {numeric: true});
  }

  // --- a table of many rows: sorted by a column, filtered, shown a page at a time, rows expand to details ---
  function Grid(container, columns, rows, detail, countLabel) {
    this.container = container;
    this.columns = columns;
    this.all = rows;
    this.detail = detail;
    this.countLabel = countLabel;
    this.keep = function () { return true; };
    this.sortColumn = null;
    this.direction = 1;
    this.page = 0;
    this.open = {};
    this.apply();
  }

  Grid.prototype.apply = function () {
    var keep = this.keep;
    this.rows = this.all.filter(function (row) { return keep(row); });
    if (this.sortColumn !== null) {
      var column = this.columns[this.sortColumn], direction = this.direction;
      this.rows.sort(function (x, y) {
        var order = compareValues(column.value(x), column.value(y));
        return order === 0 ? x.order - y.order : direction * order;
      });
    }
    this.page = 0;
    this.render();
  };

  Grid.prototype.sortBy = function (index) {
    this.direction = this.sortColumn === index ? -this.direction : 1;
    this.sortColumn = index;
    this.apply();
  };

  Grid.prototype.render = function () {
    var self = this, size = data.page_size, pages = Math.max(1, Math.ceil(this.rows.length / size));
    this.page = Math.min(this.page, pages - 1);
    var head = el("tr", {}, this.columns.map(function (column, i) {
      var th = el("th", {class: column.num ? "num" : null, "data-column": column.key, text: column.label, scope: "col",
        "aria-sort": self.sortColumn === i ? (self.direction > 0 ? "ascending" : "descending") : null});
      th.addEventListener("click", function () { self.sortBy(i); });
      return th;
    }));
    var body = el("tbody", {});
    this.rows.slice(this.page * size, (this.page + 1) * size).forEach(function (row) {
      var tr = el("tr", {class: "record", "data-record": row.id}, self.columns.map(function (column) {
        var content = column.render ? column.render(row) : fmt(column.value(row));
        var value = column.value(row);
        return el("td", {class: column.num ? "num" : (column.text ? "text" : null), "data-column": column.key,
          "data-value": typeof value === "string" ? null : JSON.stringify(value === undefined ? null : value)},
          [content]);
      }));
      tr.addEventListener("click", function (event) {
        if (event.target.closest("a")) return;
        self.open[row.id] = !self.open[row.id];
        self.render();
      });
      body.appendChild(tr);
      if (self.open[row.id]) {
        body.appendChild(el("tr", {class: "detail"}, [el("td", {colspan: String(self.columns.length)}, [self.detail(row)])]));
      }
    });
    var pager = el("div", {class: "pager"});
    var previous = el("button", {type: "button", class: "previous", text: "‹ previous"});
    var next = el("button", {type: "button", class: "next", text: "next ›"});
    previous.disabled = this.page === 0;
    next.disabled = this.page >= pages - 1;
    previous.addEventListener("click", function () { self.page -= 1; self.render(); });
    next.addEventListener("click", function () { self.page += 1; self.render(); });
    var first = this.rows.length ? this.page * size + 1 : 0, last = Math.min((this.page + 1) * size, this.rows.length);
    pager.appendChild(previous);
    pager.appendChild(el("span", {class: "page", text: "page " + (this.page + 1) + " of " + pages + " (rows " + first +
      "-" + last + ")"}));
    pager.appendChild(next);
    this.container.textContent = "";
    this.container.appendChild(el("table", {}, [el("thead", {}, [head]), body]));
    this.container.appendChild(pager);
    this.countLabel.textContent = this.rows.length + " of " + this.all.length + " " + (this.all.length === 1 ? "row" : "rows");
  };

  function facts(pairs) {
    var dl = el("dl", {class: "detail-grid"});
    pairs.forEach(function (pair) {
      if (pair[1] === null || pair[1] === undefined || pair[1] === "") return;
      dl.appendChild(el("dt", {text: pair[0]}));
      dl.appendChild(el("dd", {}, [typeof pair[1] === "string" ? pair[1] : pair[1]]));
    });
    return dl;
  }

  // --- the run's records ---
  var STATUS_ORDER = {error: 0, fail: 1, pass: 2, none: 3};
  var records = data.records.slice().sort(function (x, y) {
    return (STATUS_ORDER[x.status] - STATUS_ORDER[y.status]) || (x.p - y.p); // failed first
  });
  records.forEach(function (row, i) { row.order = i; });
  var columns = [
    {key: "position", label: "#", num: true, value: function (r) { return r.p + 1; }},
    {key: "record", label: "record", value: function (r) { return r.id; }},
    {key: "status", label: "status", value: function (r) { return STATUS_ORDER[r.status]; },
      render: function (r) { return el("span", {class: "status " + r.status, text: r.status === "none" ? "-" : r.status}); }},
    {key: "input", label: "input", text: true, value: function (r) { return r.input; }, render: function (r) { return short(r.input); }},
    {key: "output", label: "output", text: true, value: function (r) { return r.output; }, render: function (r) { return short(r.output); }}
  ];
  data.names.forEach(function (name, i) {
    columns.push({key: "metric:" + name, label: name, num: data.kinds[name] !== "categorical",
      value: function (r) { return r.values[i]; }});
  });
  columns.push({key: "latency", label: "latency s", num: true, value: function (r) { return r.latency; }});
  columns.push({key: "tokens", label: "tokens", num: true, value: function (r) { return r.tokens; }});
  if (data.trace_url) {
    columns.push({key: "trace", label: "trace", value: function (r) { return r.traces.length ? r.traces[0] : null; },
      render: function (r) { return traceLinks(r.traces) || "-"; }});
  }

  function recordDetail(r) {
    var pairs = [["input", r.input], ["expected", r.expected], ["output", r.output]];
    if (r.runs) {
      r.runs.outputs.forEach(function (output, i) { pairs.push(["output of run " + (i + 1), output]); });
      data.names.forEach(function (name, i) {
        pairs.push([name + " per run", r.runs.values[i].map(fmt).join(", ") + (r.runs.std[i] === null ? "" : "  (std " + fmt(r.runs.std[i]) + ")")]);
      });
    }
    Object.keys(r.reasoning || {}).forEach(function (name) { pairs.push(["reasoning: " + name, r.reasoning[name]]); });
    Object.keys(r.objectives || {}).forEach(function (name) {
      pairs.push(["objective " + name, r.objectives[name] ? "PASS" : "FAIL"]);
    });
    r.errors.forEach(function (error, i) { if (error) pairs.push(["error in run " + (i + 1), error]); });
    var links = traceLinks(r.traces);
    if (links) pairs.push(["traces", links]);
    return facts(pairs);
  }

  var recordGrid = new Grid(document.getElementById("records-table"), columns, records, recordDetail,
    document.getElementById("records-count"));
  var recordFilter = document.getElementById("records-filter"), recordStatus = document.getElementById("records-status");
  function filterRecords() {
    var needle = recordFilter.value.trim().toLowerCase(), status = recordStatus.value;
    recordGrid.keep = function (r) {
      if (status === "fail" && r.status !== "fail" && r.status !== "error") return false;
      if (status && status !== "fail" && r.status !== status) return false;
      if (!needle) return true;
      return [r.id, r.input, r.output, r.expected, r.errors.join(" ")].join("\n").toLowerCase().indexOf(needle) >= 0;
    };
    recordGrid.apply();
  }
  recordFilter.addEventListener("input", filterRecords);
  recordStatus.addEventListener("change", filterRecords);

  // --- the compared records ---
  if (data.comparison) {
    var comparison = data.comparison;
    var RANK_ORDER = {regressed: 0, improved: 1, changed: 2, same: 3};
    comparison.records.forEach(function (row, i) {
      row.order = i;
      row.text = row.diff ? row.diff.map(function (s) { return s[1]; }).join("") : row.output;
    });
    function passed(value) { return value === null || value === undefined ? "-" : (value ? "PASS" : "FAIL"); }
    var compareColumns = [
      {key: "position", label: "#", num: true, value: function (r) { return r.p + 1; }},
      {key: "record", label: "record", value: function (r) { return r.id; }},
      {key: "change", label: "change", value: function (r) { return RANK_ORDER[r.rank]; },
        render: function (r) { return el("span", {class: "rank " + r.rank, text: r.rank}); }},
      {key: "objectives", label: "objectives A → B", value: function (r) { return passed(r.a.passed) + passed(r.b.passed); },
        render: function (r) { return r.a.passed === r.b.passed ? passed(r.b.passed) : passed(r.a.passed) + " → " + passed(r.b.passed); }}
    ];
    comparison.names.forEach(function (name, i) {
      compareColumns.push({key: "metric:" + name, label: name, num: data.kinds[name] !== "categorical",
        value: function (r) { return r.b.values[i]; },
        render: function (r) {
          var a = r.a.values[i], b = r.b.values[i];
          return a === b ? fmt(b) : fmt(a) + " → " + fmt(b);
        }});
    });
    compareColumns.push({key: "output", label: "output (A → B)", text: true, value: function (r) { return r.text; },
      render: function (r) { return r.diff ? diffNode(r.diff) : short(r.output); }});
    if (data.trace_url) {
      compareColumns.push({key: "trace", label: "traces", value: function (r) { return r.b.trace; },
        render: function (r) {
          var span = el("span", {});
          [[r.a.trace, "A"], [r.b.trace, "B"]].forEach(function (pair) {
            var link = traceLinks(pair[0] ? [pair[0]] : [], pair[1]);
            if (link) { span.appendChild(link); span.appendChild(document.createTextNode(" ")); }
          });
          return span;
        }});
    }
    var compareDetail = function (r) {
      var pairs = [["input", r.input], ["expected", r.expected],
        ["output (A → B)", r.diff ? diffNode(r.diff) : r.output]];
      if (r.regressed.length) pairs.push(["passed → failed", r.regressed.join(", ")]);
      if (r.improved.length) pairs.push(["failed → passed", r.improved.join(", ")]);
      comparison.names.forEach(function (name, i) {
        pairs.push([name, "A " + fmt(r.a.values[i]) + "   B " + fmt(r.b.values[i])]);
      });
      pairs.push(["errors", "A " + r.a.errors + "   B " + r.b.errors]);
      return facts(pairs);
    };
    var compareGrid = new Grid(document.getElementById("comparison-table"), compareColumns, comparison.records,
      compareDetail, document.getElementById("comparison-count"));
    var compareFilter = document.getElementById("comparison-filter"), compareRank = document.getElementById("comparison-rank");
    var filterCompared = function () {
      var needle = compareFilter.value.trim().toLowerCase(), rank = compareRank.value;
      compareGrid.keep = function (r) {
        if (rank && r.rank !== rank) return false;
        return !needle || [r.id, r.input, r.text].join("\n").toLowerCase().indexOf(needle) >= 0;
      };
      compareGrid.apply();
    };
    compareFilter.addEventListener("input", filterCompared);
    compareRank.addEventListener("change", filterCompared);
  }

  // --- tabs ---
  var buttons = Array.prototype.slice.call(document.querySelectorAll("#tabs button"));
  function show(name) {
    Array.prototype.forEach.call(document.querySelectorAll(".view"), function (view) {
      view.hidden = view.id !== "view-" + name;
    });
    buttons.forEach(function (button) { button.setAttribute("aria-selected", String(button.dataset.view === name)); });
  }
  buttons.forEach(function (button) {
    button.addEventListener("click", function () { show(button.dataset.view); });
  });
  show("summary");
  document.documentElement.setAttribute("data-ready", "true");
})();
