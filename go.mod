module github.com/wxsub/wxsub

go 1.26.8
