-- The benchmark's IVR: a menu that plays a prompt and waits for a choice, forever.
call:answer()
local n = 0
while call:ready() do
  local key = call:play("en/ivr/menu.wav", { interrupt = "0123456789" })
  local digits = call:collect { max = 4, timeout = 3000 }
  n = n + 1
  call:set("round", tostring(n))
end
