// The run report in a real browser: a short `rinhactl load --report` against a whole stack, and
// `rinhactl report` overlaying two records, each page rendered by headless Chromium (Debian's
// chromium, installed by scripts/install-deps.sh). A probe script, inserted by this test into a
// copy of the page, records console errors, uncaught exceptions and blocked fetches, and what
// each chart drew (Chart.js points per dataset, pixels of each dataset's colour); the dumped DOM
// is then checked: no errors, every chart drew its data, and every number bound to a record
// field (data-k) shows exactly the JSON's value. A screenshot of the single-run page is left in
// the build's tests directory (report_browser_test.png) for people to look at.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "instrument/stack/process.hpp"
#include "support/fixture.hpp"

using namespace rinha;
using namespace rinha::testsupport;
using namespace std::chrono_literals;
using Json = nlohmann::json;

namespace {

// Runs before any page script: collects errors, then, once the page has loaded, writes what it
// saw into <pre id="probe"> as JSON.
const char* const kProbe = R"PROBE(<script>
(function () {
  const errors = [];
  for (const level of ["error", "warn"]) {
    const orig = console[level];
    console[level] = function (...a) { errors.push(level + ": " + a.join(" ")); orig.apply(console, a); };
  }
  addEventListener("error", (e) => errors.push("error event: " + (e.message || (e.target && (e.target.src || e.target.href)) || e.type)), true);
  addEventListener("unhandledrejection", (e) => errors.push("unhandled rejection: " + e.reason));
  document.addEventListener("securitypolicyviolation", (e) => errors.push("blocked by the page's policy: " + e.blockedURI));
  function rgb(c) {
    const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(c || "");
    return m ? [1, 2, 3].map((i) => parseInt(m[i], 16)) : null;
  }
  addEventListener("load", () => {
    const charts = [];
    for (const canvas of document.querySelectorAll("canvas")) {
      const chart = window.Chart && Chart.getChart(canvas);
      const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
      let painted = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i] > 0) painted++;
      const datasets = [];
      (chart ? chart.data.datasets : []).forEach((d, j) => {
        const points = chart.getDatasetMeta(j).data.filter((p) => p && !p.skip).length;
        const want = rgb(d.borderColor);
        let colour = 0;
        if (want) for (let i = 0; i < px.length; i += 4)
          if (px[i + 3] > 200 && Math.abs(px[i] - want[0]) + Math.abs(px[i + 1] - want[1]) + Math.abs(px[i + 2] - want[2]) < 30) colour++;
        datasets.push({ label: d.label, points, colour });
      });
      charts.push({ id: canvas.id, width: canvas.width, height: canvas.height, painted, datasets });
    }
    const pre = document.createElement("pre");
    pre.id = "probe";
    pre.textContent = JSON.stringify({ errors, charts });
    document.body.appendChild(pre);
  });
})();
</script>)PROBE";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  REQUIRE(out.good());
}

std::string unescape_html(std::string s) {
  for (auto [from, to] : {std::pair{"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&amp;", "&"}})
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + 1))
      s.replace(at, std::string(from).size(), to);
  return s;
}

// Headless Chromium as the brief for root on a closed network requires: no sandbox, no GPU, no
// background fetches, a fresh profile.
std::string chromium(const stack::TempDir& dir, const std::string& name, const std::string& what,
                     const std::string& page) {
  static int n = 0;
  const std::string profile = dir.file("chromium-profile-" + std::to_string(++n));
  const std::string cmd =
      "timeout 180 chromium --headless --no-sandbox --disable-gpu --disable-background-networking"
      " --disable-component-update --disable-sync --no-first-run --hide-scrollbars"
      " --disable-dev-shm-usage"
      " --user-data-dir=" +
      profile + " --window-size=1280,3600 " + what + " 'file://" + page + "' >" +
      dir.file(name + ".out") + " 2>" + dir.file(name + ".err");
  int rc = std::system(cmd.c_str());
  INFO(cmd << "\n" << read_file(dir.file(name + ".err")));
  REQUIRE(rc == 0);
  return read_file(dir.file(name + ".out"));
}

// The probe's findings for `page`, after Chromium has loaded it.
Json probe(const stack::TempDir& dir, const std::string& name, const std::string& page_path) {
  std::string page = read_file(page_path);
  size_t head = page.find("<head>");
  REQUIRE(head != std::string::npos);
  page.insert(head + 6, kProbe);
  const std::string probed = dir.file(name + "-probed.html");
  write_file(probed, page);
  std::string dom = chromium(dir, name, "--dump-dom", probed);
  std::smatch m;
  INFO(dom.substr(0, 2000));
  REQUIRE(std::regex_search(dom, m, std::regex(R"re(<pre id="probe">([^<]*)</pre>)re")));
  Json found = Json::parse(unescape_html(m[1].str()));
  found["dom"] = dom;
  return found;
}

void check_charts(const Json& found, const std::set<std::string>& expected) {
  INFO(found["errors"].dump());
  CHECK(found["errors"].empty());
  std::set<std::string> seen;
  for (const auto& c : found["charts"]) {
    const std::string id = c["id"];
    seen.insert(id);
    INFO(id << ": " << c.dump());
    CHECK(c["width"].get<int>() > 300);
    CHECK(c["painted"].get<int>() > 1000);
    // Every chart drew data: some dataset has points and its colour covers visible pixels.
    bool drawn = false;
    for (const auto& d : c["datasets"])
      drawn = drawn || (d["points"].get<int>() > 0 && d["colour"].get<int>() >= 20);
    CHECK(drawn);
  }
  CHECK(seen == expected);
}

// Every value cell bound to a record field shows that field exactly (grouping commas aside);
// returns the fields seen.
std::set<std::string> check_numbers(const Json& found, const std::vector<Json>& records) {
  const std::string dom = found["dom"];
  std::regex cell(
      R"re(<span data-run="(\d+)" data-k="([^"]+)"(?: data-fmt="([^"]+)")?>([^<]*)</span>)re");
  std::set<std::string> keys;
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), cell); it != std::sregex_iterator();
       ++it) {
    const auto& m = *it;
    const size_t run = std::stoul(m[1].str());
    REQUIRE(run < records.size());
    std::string pointer = "/" + std::regex_replace(m[2].str(), std::regex("\\."), "/");
    const Json& v = records[run].at(Json::json_pointer(pointer));
    std::string shown = std::regex_replace(unescape_html(m[4].str()), std::regex(","), "");
    INFO("run " << run << " " << m[2] << ": page '" << shown << "', JSON " << v.dump());
    if (m[3] == "pct1") {
      CHECK(std::fabs(std::stod(shown) - 100 * v.get<double>()) < 0.051);
    } else {
      CHECK(shown == (v.is_string() ? v.get<std::string>() : v.dump()));
    }
    keys.insert(std::to_string(run) + ":" + m[2].str());
  }
  return keys;
}

}  // namespace

TEST_CASE("a short run's report and a comparison render in headless Chromium") {
  StackFixture fx(Parts::whole());
  stack::Stack& st = fx.stack();
  REQUIRE_FALSE(st.worker_metrics_url().empty());
  const auto& dir = fx.dir();
  const std::string json = dir.file("run.json"), html = dir.file("run.html");
  stack::ProcessSpec load{"load",
                          {RINHACTL_PATH,
                           "load",
                           "--target",
                           st.lb_url(),
                           "--default-url",
                           st.default_url(),
                           "--fallback-url",
                           st.fallback_url(),
                           "--duration",
                           "8",
                           "--vus",
                           "40",
                           "--json",
                           json,
                           "--report",
                           html,
                           "--stack-dir",
                           dir.path(),
                           "--label",
                           "short",
                           "--check-every-ms",
                           "1000"},
                          {},
                          dir.file("load.log"),
                          "",
                          "",
                          false};
  auto rc = stack::run_to_completion(load, 120s);
  INFO(stack::tail_file(dir.file("load.log"), 40));
  REQUIRE(rc.is_ok());
  REQUIRE(*rc == 0);
  const Json results = Json::parse(read_file(json));
  const Json& rec = results.at("rinha_run");
  // The official keys come first, untouched; the record rides along.
  CHECK(results.begin().key() != "rinha_run");
  CHECK(rec["series"]["sent"].size() >= 8);
  CHECK(rec["profile"]["check_every_ms"].get<int>() == 1000);
  // 8 s with a check, then 1 s of pause: several checks, each timing the backend's summary.
  REQUIRE(rec["checks"].size() >= 5);
  for (const auto& c : rec["checks"]) CHECK(c["backend_us"].get<int64_t>() > 0);
  CHECK(rec["worker_metrics"]["scrapes_ok"].get<int>() > 0);
  CHECK(rec["configs"].contains("worker"));
  CHECK(rec["configs"]["worker"].get<std::string>().find("metrics_listen") != std::string::npos);

  // The single-run page.
  Json single = probe(dir, "single", html);
  check_charts(single, {"chart-requests", "chart-latency", "chart-payments", "chart-worker",
                        "chart-machine"});
  auto keys = check_numbers(single, {rec});
  for (const char* k :
       {"0:accountings.0.score", "0:accountings.1.score", "0:accountings.1.p99_ms",
        "0:accountings.0.inconsistencies", "0:accountings.1.lag", "0:accountings.1.liquid",
        "0:accountings.0.ceiling.score_ratio", "0:accountings.1.default.requests",
        "0:accountings.1.fallback.amount", "0:posts.sent", "0:checks.0.backend_default",
        "0:checks.0.corrected", "0:checks.0.backend_us"})
    CHECK(keys.count(k) == 1);
  CHECK(single["dom"].get<std::string>().find("(secrets masked)") != std::string::npos);

  // Two records overlaid.
  const std::string cmp = dir.file("cmp.html");
  stack::ProcessSpec report{
      "report",
      {RINHACTL_PATH, "report", json, json, "--label", "before", "--label", "after", "-o", cmp},
      {},
      dir.file("report.log"),
      "",
      "",
      false};
  rc = stack::run_to_completion(report, 30s);
  REQUIRE(rc.is_ok());
  REQUIRE(*rc == 0);
  Json both = probe(dir, "compare", cmp);
  check_charts(
      both, {"chart-requests", "chart-latency", "chart-payments", "chart-worker", "chart-machine"});
  keys = check_numbers(both, {rec, rec});
  CHECK(keys.count("0:accountings.1.score") == 1);
  CHECK(keys.count("1:accountings.1.score") == 1);

  // A picture for people: the single-run page as Chromium draws it.
  chromium(dir, "shot", "--screenshot=" + dir.file("shot.png"), html);
  const std::string png = read_file(dir.file("shot.png"));
  CHECK(png.size() > 50000);
  CHECK(png.compare(1, 3, "PNG") == 0);
  write_file("report_browser_test.png", png);
}
