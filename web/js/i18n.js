// The one catalogue of the web UI's strings, in English and Simplified Chinese, and the
// locale-aware formatting of dates and numbers (Intl). Every visible string comes from
// here: elements carry data-i18n="key" (text), data-i18n-label="key" (aria-label) or
// data-i18n-placeholder="key", and scripts call t(key, vars). The language is chosen by
// ?lang=, then the choice remembered in localStorage, then the browser's language.

const catalogue = {
  en: {
    'app.name': 'safegrid',
    'lang.label': 'Language',
    'skip': 'Skip to main content',
    'nav.main': 'Main',
    'nav.report': 'Report a problem',
    'nav.track': 'Track a report',
    'nav.stats': 'Public statistics',
    'nav.staff': 'Staff sign-in',
    'nav.public': 'Public site',
    'title.public': 'safegrid — report a problem, follow it, see the figures',
    'title.staff': 'safegrid — staff workspace',

    'report.heading': 'Report a problem',
    'report.intro': 'Choose what is wrong, mark the place on the map, and describe it. You get a tracking code to follow your report. Nothing you write here is published.',
    'report.category': 'Kind of problem',
    'report.category.choose': 'Choose…',
    'report.description': 'What is wrong?',
    'report.place': 'Place',
    'report.place.help': 'Click the map, or move it with the arrow keys and press “Use the centre of the map”.',
    'report.map': 'Map for choosing the place of the problem',
    'report.usecentre': 'Use the centre of the map',
    'report.lon': 'Longitude',
    'report.lat': 'Latitude',
    'report.contact': 'E-mail (optional)',
    'report.contact.help': 'Only the staff working on your report can see it, and it is deleted after the retention period.',
    'report.submit': 'Send report',
    'report.nearby.heading': 'Already reported nearby?',
    'report.nearby.none': 'No open report of this kind within {radius} m.',
    'report.nearby.one': 'One open report of this kind within {radius} m. If it is yours, you may not need to report it again.',
    'report.nearby.some': '{n} open reports of this kind within {radius} m. If one of them is yours, you may not need to report it again.',
    'report.nearby.item': '{status}, reported {date}, about {distance} m away',
    'report.need.category': 'Choose the kind of problem.',
    'report.need.place': 'Mark the place on the map.',
    'report.need.description': 'Describe the problem.',
    'report.long.description': 'The description has {n} characters; at most {max} are taken. Please shorten it.',
    'report.bad.contact': 'This is not an e-mail address. Correct it, or leave the field empty.',
    'report.sent': 'Thank you. Your report was received.',
    'report.code': 'Your tracking code',
    'report.follow': 'Follow this report',
    'report.placed': 'Place chosen: {lat}, {lon}',

    'track.heading': 'Track a report',
    'track.code': 'Tracking code',
    'track.go': 'Show',
    'track.notfound': 'No report has this tracking code.',
    'track.status': 'Status',
    'track.category': 'Kind',
    'track.created': 'Reported',
    'track.updated': 'Last change',
    'track.closed': 'Closed',
    'track.timeline': 'What happened',
    'track.ev.created': 'Report received',
    'track.ev.comment': 'Staff added a note',
    'track.ev.transition': 'Status changed from {from} to {to}',
    'track.ev.escalated': 'Passed up to the next level',
    'track.ev.other': '{kind}',
    'fb.heading': 'Is it fixed?',
    'fb.intro': 'The staff say this problem is resolved. Please tell us whether it really is.',
    'fb.fixed': 'Is the problem fixed?',
    'fb.yes': 'Yes, it is fixed',
    'fb.no': 'No, it is not fixed',
    'fb.rating': 'How satisfied are you with how it was handled?',
    'fb.star': '{n} of 5',
    'fb.reason': 'What is still wrong?',
    'fb.reason.need': 'Say what is still wrong.',
    'fb.rating.need': 'Choose a rating.',
    'fb.send': 'Send answer',
    'fb.thanks.closed': 'Thank you. The report is now closed.',
    'fb.thanks.reopened': 'Thank you. The report has been reopened.',

    'stats.heading': 'Public statistics',
    'stats.intro': 'Counts of reports by month and by area, and how quickly each office answers. Counts below {k} are hidden so that nobody can be singled out.',
    'stats.type': 'Kind of case',
    'stats.type.all': 'All kinds',
    'stats.monthly': 'Reports by kind and month',
    'stats.chart': 'Chart of reports per month, by kind',
    'stats.category': 'Kind',
    'stats.month': 'Month',
    'stats.count': 'Count',
    'stats.area': 'Area',
    'stats.byarea': 'Reports by area and month',
    'stats.suppressed': 'fewer than {k}',
    'stats.none': 'No figures yet.',
    'stats.outside': '(outside every area)',
    'stats.response': 'Response times and satisfaction by office',
    'stats.org': 'Office',
    'stats.closed': 'Closed cases',
    'stats.median': 'Median hours to close',
    'stats.p90': '90% closed within (hours)',
    'stats.ratings': 'Ratings',
    'stats.mean': 'Mean rating',
    'stats.satisfied': 'Satisfied',
    'stats.noorg': '(no office)',
    'stats.map': 'Map of the areas',

    'type.request': 'Service request',
    'type.incident': 'Incident',
    'type.dispute': 'Dispute',
    'type.hazard': 'Hazard',
    'type.assessment': 'Risk assessment',

    'login.heading': 'Staff sign-in',
    'login.name': 'Account name',
    'login.password': 'Password',
    'login.submit': 'Sign in',
    'login.failed': 'Wrong name or password.',
    'logout': 'Sign out',
    'me': '{name} — {role}, {area}',
    'me.noarea': 'whole jurisdiction',

    'staff.nav': 'Workspace',
    'staff.queue': 'Queue',
    'staff.overdue': 'Overdue and escalated',
    'staff.map': 'Area map',
    'staff.queue.heading': 'Open cases of {org}, overdue first',
    'staff.queue.heading.scope': 'Open cases in my area, overdue first',
    'staff.queue.area': 'Open cases in {area}, overdue first',
    'staff.queue.clear': 'Show my whole queue',
    'staff.overdue.heading': 'Overdue and escalated work in my area',
    'staff.empty': 'Nothing here.',
    'staff.more': 'Load more',
    'col.code': 'Tracking code',
    'col.category': 'Kind',
    'col.status': 'Status',
    'col.priority': 'Priority',
    'col.area': 'Area',
    'col.org': 'Office',
    'col.due': 'Due',
    'col.created': 'Reported',
    'col.escalations': 'Escalations',
    'col.open': 'Open cases',
    'col.overdue': 'Overdue',
    'overdue': 'overdue',
    'case.open': 'Open case {code}',
    'case.heading': 'Case {code}',
    'case.back': 'Back to the queue',
    'case.map': 'Map of the case’s place',
    'case.description': 'Description',
    'case.title': 'Title',
    'case.personal': 'Reporter’s contact (personal data: only for working this case)',
    'case.nocontact': 'No contact given.',
    'case.actions': 'Actions',
    'case.noactions': 'No action is open to your role in this state.',
    'case.reason': 'Reason for “{to}”',
    'case.reason.need': 'A reason is needed for this action.',
    'case.data': '{key} for “{to}”',
    'case.data.need': 'This action needs a value.',
    'case.do': 'Move to “{to}”',
    'case.moved': 'Case moved to “{to}”.',
    'case.conflict': 'Someone changed this case meanwhile. It has been reloaded: check it and decide again.',
    'case.timeline': 'Timeline',
    'case.comment': 'Add a comment',
    'case.comment.send': 'Add comment',
    'case.comment.added': 'Comment added.',
    'case.comment.need': 'Write the comment first.',
    'case.ev': '{kind} by {actor} ({role})',
    'case.ev.transition': '{from} → {to}',
    'case.ev.reason': 'Reason: {reason}',
    'case.ev.text': '“{text}”',
    'case.notfound': 'No such case in your area.',
    'areas.tree': 'Area tree',
    'areas.map': 'Map of the areas coloured by open cases',
    'areas.legend': 'Open cases per area',
    'areas.show': 'Show the queue of {area}',
    'areas.count': '{open} open, {overdue} overdue',
    'areas.point': 'open case',
    'areas.point.overdue': 'overdue case',

    'map.zoomin': 'Zoom in',
    'map.zoomout': 'Zoom out',
    'err.network': 'The server could not be reached. Try again.',
    'err.server': 'Something went wrong: {message}',
    'err.ratelimit': 'Too many requests. Wait a moment and try again.',

    'status.submitted': 'submitted',
    'status.accepted': 'accepted',
    'status.in_progress': 'in progress',
    'status.resolved': 'resolved',
    'status.closed': 'closed',
    'status.rejected': 'rejected',
    'status.reopened': 'reopened',
    'status.duplicate': 'duplicate',
    // incident, dispute, hazard and assessment states (docs/workflows.md)
    'status.received': 'received',
    'status.dispatched': 'dispatched',
    'status.en_route': 'en route',
    'status.on_scene': 'on scene',
    'status.cleared': 'cleared',
    'status.cancelled': 'cancelled',
    'status.registered': 'registered',
    'status.declined': 'declined',
    'status.mediating': 'in mediation',
    'status.agreement': 'agreement reached',
    'status.no_agreement': 'no agreement',
    'status.follow_up': 'follow-up',
    'status.referred': 'referred',
    'status.reported': 'reported',
    'status.verified': 'verified',
    'status.dismissed': 'dismissed',
    'status.rectification_ordered': 'rectification ordered',
    'status.rectified': 'rectified',
    'status.draft': 'draft',
    'status.consultation': 'in consultation',
    'status.assessed': 'assessed',
    'status.decided': 'decided',
    'status.monitoring': 'monitoring',
    'status.reviewed': 'reviewed',
    'kind.created': 'created',
    'kind.transition': 'status change',
    'kind.comment': 'comment',
    'kind.escalated': 'escalated',
    'role.calltaker': 'call-taker',
    'role.dispatcher': 'dispatcher',
    'role.caseworker': 'caseworker',
    'role.mediator': 'mediator',
    'role.inspector': 'inspector',
    'role.analyst': 'analyst',
    'role.supervisor': 'supervisor',
    'role.admin': 'administrator',
    'role.public': 'public',
    'role.system': 'system',
  },
  zh: {
    'app.name': 'safegrid',
    'lang.label': '语言',
    'skip': '跳到主要内容',
    'nav.main': '主导航',
    'nav.report': '反映问题',
    'nav.track': '查询进度',
    'nav.stats': '公开统计',
    'nav.staff': '工作人员登录',
    'nav.public': '公众页面',
    'title.public': 'safegrid — 反映问题、查询进度、查看统计',
    'title.staff': 'safegrid — 工作台',

    'report.heading': '反映问题',
    'report.intro': '选择问题类型，在地图上标出地点，并加以描述。提交后会得到一个查询码，用来跟踪办理进度。您填写的内容不会公开。',
    'report.category': '问题类型',
    'report.category.choose': '请选择…',
    'report.description': '出了什么问题？',
    'report.place': '地点',
    'report.place.help': '点击地图；或用方向键移动地图，再按“使用地图中心”。',
    'report.map': '选择问题地点的地图',
    'report.usecentre': '使用地图中心',
    'report.lon': '经度',
    'report.lat': '纬度',
    'report.contact': '电子邮箱（可不填）',
    'report.contact.help': '只有办理您这件事的工作人员能看到，保存期满后删除。',
    'report.submit': '提交',
    'report.nearby.heading': '附近是否已有人反映？',
    'report.nearby.none': '{radius} 米内没有同类未办结的问题。',
    'report.nearby.one': '{radius} 米内有 1 件同类未办结的问题。如果它就是您要反映的，可以不必重复提交。',
    'report.nearby.some': '{radius} 米内有 {n} 件同类未办结的问题。如果其中一件就是您要反映的，可以不必重复提交。',
    'report.nearby.item': '{status}，{date} 反映，距此约 {distance} 米',
    'report.need.category': '请选择问题类型。',
    'report.need.place': '请在地图上标出地点。',
    'report.need.description': '请描述问题。',
    'report.long.description': '描述共 {n} 个字符，最多 {max} 个，请精简。',
    'report.bad.contact': '这不是有效的电子邮箱地址。请更正，或留空。',
    'report.sent': '谢谢！您反映的问题已收到。',
    'report.code': '您的查询码',
    'report.follow': '查看办理进度',
    'report.placed': '已选地点：{lat}，{lon}',

    'track.heading': '查询进度',
    'track.code': '查询码',
    'track.go': '查询',
    'track.notfound': '没有与此查询码对应的问题。',
    'track.status': '状态',
    'track.category': '类型',
    'track.created': '反映时间',
    'track.updated': '最近变更',
    'track.closed': '办结时间',
    'track.timeline': '办理经过',
    'track.ev.created': '已收到',
    'track.ev.comment': '工作人员添加了备注',
    'track.ev.transition': '状态由“{from}”变为“{to}”',
    'track.ev.escalated': '已上报上一级',
    'track.ev.other': '{kind}',
    'fb.heading': '问题解决了吗？',
    'fb.intro': '工作人员表示此问题已处理完毕。请告诉我们是否真的解决了。',
    'fb.fixed': '问题解决了吗？',
    'fb.yes': '是，已解决',
    'fb.no': '否，没有解决',
    'fb.rating': '您对办理情况是否满意？',
    'fb.star': '{n} 分（满分 5 分）',
    'fb.reason': '还有什么问题？',
    'fb.reason.need': '请说明还有什么问题。',
    'fb.rating.need': '请选择评分。',
    'fb.send': '提交评价',
    'fb.thanks.closed': '谢谢！此问题已办结。',
    'fb.thanks.reopened': '谢谢！此问题已重新办理。',

    'stats.heading': '公开统计',
    'stats.intro': '按月份和区域统计的问题数量，以及各办事处的办理时长。少于 {k} 件的数字不予公开，以免识别出个人。',
    'stats.type': '案件类别',
    'stats.type.all': '全部类别',
    'stats.monthly': '按类型和月份统计',
    'stats.chart': '每月问题数量图（按类型）',
    'stats.category': '类型',
    'stats.month': '月份',
    'stats.count': '数量',
    'stats.area': '区域',
    'stats.byarea': '按区域和月份统计',
    'stats.suppressed': '少于 {k}',
    'stats.none': '暂无数据。',
    'stats.outside': '（不在任何区域内）',
    'stats.response': '各办事处的办理时长与满意度',
    'stats.org': '办事处',
    'stats.closed': '已办结',
    'stats.median': '办结时长中位数（小时）',
    'stats.p90': '90% 在此时间内办结（小时）',
    'stats.ratings': '评价数',
    'stats.mean': '平均评分',
    'stats.satisfied': '满意率',
    'stats.noorg': '（无办事处）',
    'stats.map': '区域地图',

    'type.request': '服务诉求',
    'type.incident': '警情事件',
    'type.dispute': '矛盾纠纷',
    'type.hazard': '安全隐患',
    'type.assessment': '风险评估',

    'login.heading': '工作人员登录',
    'login.name': '账号',
    'login.password': '密码',
    'login.submit': '登录',
    'login.failed': '账号或密码错误。',
    'logout': '退出',
    'me': '{name} — {role}，{area}',
    'me.noarea': '全辖区',

    'staff.nav': '工作台',
    'staff.queue': '待办',
    'staff.overdue': '超期与上报',
    'staff.map': '区域地图',
    'staff.queue.heading': '{org} 的未办结案件（超期优先）',
    'staff.queue.heading.scope': '本辖区未办结案件（超期优先）',
    'staff.queue.area': '{area} 的未办结案件（超期优先）',
    'staff.queue.clear': '显示全部待办',
    'staff.overdue.heading': '本辖区超期和已上报的案件',
    'staff.empty': '暂无。',
    'staff.more': '加载更多',
    'col.code': '查询码',
    'col.category': '类型',
    'col.status': '状态',
    'col.priority': '优先级',
    'col.area': '区域',
    'col.org': '办事处',
    'col.due': '期限',
    'col.created': '反映时间',
    'col.escalations': '上报次数',
    'col.open': '未办结',
    'col.overdue': '超期',
    'overdue': '已超期',
    'case.open': '打开案件 {code}',
    'case.heading': '案件 {code}',
    'case.back': '返回待办',
    'case.map': '案件地点地图',
    'case.description': '描述',
    'case.title': '标题',
    'case.personal': '反映人联系方式（个人信息：仅限办理本案使用）',
    'case.nocontact': '未留联系方式。',
    'case.actions': '操作',
    'case.noactions': '在此状态下您的角色没有可执行的操作。',
    'case.reason': '“{to}”的理由',
    'case.reason.need': '此操作需要填写理由。',
    'case.data': '“{to}”的{key}',
    'case.data.need': '此操作需要填写一个值。',
    'case.do': '转为“{to}”',
    'case.moved': '案件已转为“{to}”。',
    'case.conflict': '此案件刚被他人修改，已重新载入：请核对后再操作。',
    'case.timeline': '时间线',
    'case.comment': '添加备注',
    'case.comment.send': '添加备注',
    'case.comment.added': '备注已添加。',
    'case.comment.need': '请先填写备注。',
    'case.ev': '{actor}（{role}）：{kind}',
    'case.ev.transition': '{from} → {to}',
    'case.ev.reason': '理由：{reason}',
    'case.ev.text': '“{text}”',
    'case.notfound': '您的辖区内没有此案件。',
    'areas.tree': '区域层级',
    'areas.map': '按未办结案件着色的区域地图',
    'areas.legend': '各区域未办结案件数',
    'areas.show': '显示 {area} 的待办',
    'areas.count': '未办结 {open} 件，超期 {overdue} 件',
    'areas.point': '未办结案件',
    'areas.point.overdue': '超期案件',

    'map.zoomin': '放大',
    'map.zoomout': '缩小',
    'err.network': '无法连接服务器，请重试。',
    'err.server': '出错了：{message}',
    'err.ratelimit': '请求过于频繁，请稍后再试。',

    'status.submitted': '已提交',
    'status.accepted': '已受理',
    'status.in_progress': '办理中',
    'status.resolved': '已处理',
    'status.closed': '已办结',
    'status.rejected': '不予受理',
    'status.reopened': '重新办理',
    'status.duplicate': '重复',
    'status.received': '已接警',
    'status.dispatched': '已派警',
    'status.en_route': '在途',
    'status.on_scene': '已到场',
    'status.cleared': '处置完毕',
    'status.cancelled': '已撤销',
    'status.registered': '已登记',
    'status.declined': '不予调解',
    'status.mediating': '调解中',
    'status.agreement': '达成协议',
    'status.no_agreement': '未达成协议',
    'status.follow_up': '回访中',
    'status.referred': '已移送',
    'status.reported': '已上报',
    'status.verified': '已核实',
    'status.dismissed': '不予立案',
    'status.rectification_ordered': '限期整改',
    'status.rectified': '已整改',
    'status.draft': '草案',
    'status.consultation': '征求意见中',
    'status.assessed': '已评估',
    'status.decided': '已决策',
    'status.monitoring': '实施跟踪',
    'status.reviewed': '已评价',
    'kind.created': '创建',
    'kind.transition': '状态变更',
    'kind.comment': '备注',
    'kind.escalated': '上报',
    'role.calltaker': '接警员',
    'role.dispatcher': '调度员',
    'role.caseworker': '网格员',
    'role.mediator': '调解员',
    'role.inspector': '检查员',
    'role.analyst': '分析员',
    'role.supervisor': '主管',
    'role.admin': '管理员',
    'role.public': '公众',
    'role.system': '系统',
  },
};

export const languages = [
  { code: 'en', name: 'English', locale: 'en-GB' },
  { code: 'zh', name: '简体中文', locale: 'zh-CN' },
];

function initialLang() {
  const q = new URLSearchParams(location.search).get('lang');
  if (q && catalogue[q]) return q;
  try {
    const s = localStorage.getItem('sg.lang');
    if (s && catalogue[s]) return s;
  } catch (e) { /* storage may be off */ }
  return (navigator.language || 'en').toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

let lang = initialLang();
const listeners = [];

export function currentLang() { return lang; }
export function locale() { return languages.find((l) => l.code === lang).locale; }

// The string for key in the current language, with {name} replaced from vars. A missing
// key falls back to English, then to the key itself (visible, so it gets noticed).
export function t(key, vars) {
  let s = catalogue[lang][key] ?? catalogue.en[key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] ?? m));
  return s;
}

// A label for a code from the catalogue (status, role, kind, type), or the code itself.
export function label(prefix, code) {
  if (code === null || code === undefined) return '';
  const key = `${prefix}.${code}`;
  return catalogue[lang][key] ?? catalogue.en[key] ?? String(code).replace(/_/g, ' ');
}

export function fmtNumber(n, opts) {
  return new Intl.NumberFormat(locale(), opts).format(n);
}

export function fmtDate(iso, withTime = true) {
  if (!iso) return '';
  const d = new Date(iso);
  return new Intl.DateTimeFormat(locale(), withTime
    ? { dateStyle: 'medium', timeStyle: 'short' } : { dateStyle: 'medium' }).format(d);
}

// "2026-11" as the month's name in the current locale.
export function fmtMonth(ym) {
  const [y, m] = ym.split('-').map(Number);
  return new Intl.DateTimeFormat(locale(), { year: 'numeric', month: 'short', timeZone: 'UTC' })
    .format(new Date(Date.UTC(y, m - 1, 1)));
}

// Fills the data-i18n attributes below root.
export function applyI18n(root = document) {
  document.documentElement.lang = lang === 'zh' ? 'zh-Hans' : 'en';
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll('[data-i18n-title]')) document.title = t(el.dataset.i18nTitle);
}

export function setLang(code) {
  if (!catalogue[code] || code === lang) return;
  lang = code;
  try { localStorage.setItem('sg.lang', code); } catch (e) { /* ignore */ }
  applyI18n();
  for (const f of listeners) f(code);
}

export function onLangChange(f) { listeners.push(f); }

// Wires a <select> as the language switch.
export function bindLangSelect(select) {
  select.replaceChildren(...languages.map((l) => {
    const o = document.createElement('option');
    o.value = l.code;
    o.textContent = l.name;
    o.lang = l.code === 'zh' ? 'zh-Hans' : 'en';
    return o;
  }));
  select.value = lang;
  select.addEventListener('change', () => setLang(select.value));
}
