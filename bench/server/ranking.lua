-- ranking.lua - wrk script: /api/v1/stats/ranking for every prefecture of
-- Yunnan in turn, over the last 90 days. Needs the env var YL_TOKEN.
local prefectures = { "5301", "5303", "5304", "5305", "5306", "5307",
  "5308", "5309", "5323", "5325", "5326", "5328", "5329", "5331", "5333",
  "5334" }
local i = 0
local token = os.getenv("YL_TOKEN")
local from = os.getenv("YL_FROM")
local to = os.getenv("YL_TO")

request = function()
  i = i % #prefectures + 1
  local path = "/api/v1/stats/ranking?region=" .. prefectures[i] ..
    "&from=" .. from .. "&to=" .. to
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end
