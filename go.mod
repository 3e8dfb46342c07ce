module github.com/maxbooster/maxbooster

go 1.26.8
