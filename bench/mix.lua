-- wrk script: requests the paths listed (one per line) in the file $WRK_PATHS, in turn,
-- so that a scenario spreads over many devices instead of one hot URL.
local paths = {}
for line in io.lines(os.getenv("WRK_PATHS")) do
  paths[#paths + 1] = line
end
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
