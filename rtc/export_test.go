package rtc

// PreferPtime exports preferPtime to tests.
var PreferPtime = preferPtime
