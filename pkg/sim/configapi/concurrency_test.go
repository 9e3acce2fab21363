package configapi

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// TestConcurrentCreates runs a bounded number of parallel creates, reads
// and config view queries. Under -race it checks the locking, and it also
// checks that no address is handed out twice.
func TestConcurrentCreates(t *testing.T) {
	api := newTestAPI(t)
	f := api.newFixture("10.20.0.0", 16)
	vr, err := api.server.EnsureVirtualRouter("node1")
	if err != nil {
		t.Fatal(err)
	}

	const workers, perWorker = 8, 10
	errs := make(chan error, workers*perWorker)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				if err := addVisiblePort(api, f, vr, fmt.Sprintf("vm-%d-%d", w, i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	seen := map[string]string{}
	for w := range workers {
		for i := range perWorker {
			name := fmt.Sprintf("vm-%d-%d", w, i)
			vmis, ok := api.server.VMInterfaces("node1", name)
			if !ok || len(vmis) != 1 || vmis[0].IPv4 == nil {
				t.Errorf("VMInterfaces(%s) = %+v, %v, want one VMI with IPv4", name, vmis, ok)
				continue
			}
			addr := vmis[0].IPv4.Address
			if other, dup := seen[addr]; dup {
				t.Errorf("address %s allocated to both %s and %s", addr, other, name)
			}
			seen[addr] = name
		}
	}
	r := api.do(http.MethodGet, "/virtual-machines?count=true", nil)
	mustStatus(t, r, http.StatusOK)
	if got := r.json(t)["virtual-machines"].(map[string]any)["count"]; got != float64(workers*perWorker) {
		t.Errorf("VM count = %v, want %d", got, workers*perWorker)
	}
}

// addVisiblePort creates a VM with a VMI and an instance-ip, links the VM to
// the virtual router, and reads some state back while other goroutines
// write.
func addVisiblePort(api *testAPI, f fixture, vr, name string) error {
	vm, err := api.tryCreate("virtual-machine", map[string]any{"fq_name": []string{name}})
	if err != nil {
		return err
	}
	vmiFQ := append(append([]string{}, f.projectFQ...), name+"-port")
	_, err = api.tryCreate("virtual-machine-interface", map[string]any{
		"fq_name": vmiFQ, "parent_type": "project",
		"virtual_network_refs": []any{map[string]any{"to": f.vnFQ}},
		"virtual_machine_refs": []any{map[string]any{"to": []string{name}}},
	})
	if err != nil {
		return err
	}
	_, err = api.tryCreate("instance-ip", map[string]any{
		"fq_name":                        []string{name + "-iip"},
		"virtual_network_refs":           []any{map[string]any{"to": f.vnFQ}},
		"virtual_machine_interface_refs": []any{map[string]any{"to": vmiFQ}},
	})
	if err != nil {
		return err
	}
	r, err := api.try(http.MethodPost, "/ref-update", map[string]any{
		"type": "virtual-router", "uuid": vr, "ref-type": "virtual-machine", "ref-uuid": vm, "operation": "ADD",
	})
	if err != nil {
		return err
	}
	if r.status != http.StatusOK {
		return fmt.Errorf("ref-update %s: status %d: %s", name, r.status, r.body)
	}

	api.server.VMInterfaces("node1", name)
	if _, err := api.try(http.MethodGet, "/virtual-machine-interfaces?detail=true", nil); err != nil {
		return err
	}
	return nil
}
