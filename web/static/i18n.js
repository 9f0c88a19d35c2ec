// Every word the operator view shows, in Chinese (the default) and English.
const TEXT = {
  zh: {
    title: "云小驿 · 工会驿站", switch_language: "English", logout: "退出", sign_in: "登录", username: "用户名", password: "密码",
    occupancy: "在站人数", online: "在线设备", active_alarms: "待处理告警", floor_plan: "驿站设备", alarms: "告警",
    no_alarms: "暂无告警", occupancy_today: "今日在站人数", offline: "离线", on: "开", off: "关", switch_on: "打开",
    switch_off: "关闭", pending: "执行中…", acked: "已确认", failed: "失败", acknowledge: "确认", close: "关闭告警",
    raised: "新告警", acknowledged: "已确认", cleared: "已关闭", bad_login: "登录失败",
    kind_lights: "照明", kind_air_conditioner: "空调", kind_door: "智能门禁", kind_microwave: "微波炉",
    kind_water_dispenser: "直饮机", kind_coffee_machine: "咖啡机", kind_fridge: "冰箱", kind_seat: "座位",
    kind_toilet: "卫生间", kind_charging_point: "手机充电", kind_locker_bank: "储物柜", kind_battery_cabinet: "换电柜",
    kind_ebook_kiosk: "电子书借阅机", kind_aed: "除颤仪", busy: "使用中", queue: "排队", indoor_temp_c: "室内温度",
    charged: "可换电池", temp_c: "温度", level_l: "水箱", free: "空闲柜格", power: "电源",
  },
  en: {
    title: "Yunxiaoyi union station", switch_language: "中文", logout: "Sign out", sign_in: "Sign in", username: "User name",
    password: "Password", occupancy: "Inside now", online: "Devices online", active_alarms: "Open alarms",
    floor_plan: "Station devices", alarms: "Alarms", no_alarms: "No alarms", occupancy_today: "People inside today",
    offline: "offline", on: "on", off: "off", switch_on: "Switch on", switch_off: "Switch off", pending: "pending…",
    acked: "confirmed", failed: "failed", acknowledge: "Acknowledge", close: "Close", raised: "raised",
    acknowledged: "acknowledged", cleared: "closed", bad_login: "Sign-in failed",
    kind_lights: "Lights", kind_air_conditioner: "Air conditioning", kind_door: "Smart door", kind_microwave: "Microwave",
    kind_water_dispenser: "Water dispenser", kind_coffee_machine: "Coffee machine", kind_fridge: "Fridge", kind_seat: "Seats",
    kind_toilet: "Toilets", kind_charging_point: "Phone charging", kind_locker_bank: "Lockers",
    kind_battery_cabinet: "Battery-swap cabinet", kind_ebook_kiosk: "E-book kiosk", kind_aed: "AED", busy: "in use",
    queue: "waiting", indoor_temp_c: "indoor", charged: "charged", temp_c: "temperature", level_l: "tank", free: "free",
    power: "power",
  },
};
