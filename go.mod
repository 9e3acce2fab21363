module github.com/contrail-vif/contrail-vif

go 1.26

require (
	github.com/containernetworking/cni v1.3.1 // indirect
	github.com/google/uuid v1.6.0 // indirect
)
