package state

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

const testVMI = "5b2a7f1c-1111-2222-3333-444455556666"

func TestSaveLoadRemove(t *testing.T) {
	store := New(t.TempDir())
	a := &Attachment{
		ContainerID: "abc123", IfName: "net1", Network: "blue", Netns: "/var/run/netns/x",
		PodNamespace: "default", PodName: "busybox", PodUID: "uid", VMName: "k8s__default__busybox",
		VMUUID: "uid", VMIUUID: testVMI, VirtualNetwork: "d:p:blue", Tap: "tap5b2a7f1c-11",
		Result: json.RawMessage(`{"cniVersion":"1.1.0"}`), Created: time.Unix(1700000000, 0).UTC(),
	}

	if err := store.Save(a); err != nil {
		t.Fatalf("Save: %v", err)
	}
	path := filepath.Join(store.Dir, "attachments", "abc123:net1.json")
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("record file: %v", err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("record mode = %v, want 0600", info.Mode().Perm())
	}

	got, err := store.Load("abc123", "net1")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var result bytes.Buffer
	if err := json.Compact(&result, got.Result); err != nil {
		t.Fatalf("stored result: %v", err)
	}
	if got.VMIUUID != a.VMIUUID || got.Tap != a.Tap || result.String() != string(a.Result) || !got.Created.Equal(a.Created) {
		t.Errorf("Load = %+v, want %+v", got, a)
	}

	if err := store.Remove("abc123", "net1"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := store.Load("abc123", "net1"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load after Remove: err = %v, want fs.ErrNotExist", err)
	}
	if err := store.Remove("abc123", "net1"); err != nil {
		t.Errorf("second Remove: %v", err)
	}
}

func TestSaveLeavesNoTemporaryFiles(t *testing.T) {
	store := New(t.TempDir())
	for range 3 {
		if err := store.Save(&Attachment{ContainerID: "c", IfName: "net1"}); err != nil {
			t.Fatalf("Save: %v", err)
		}
	}
	entries, err := os.ReadDir(filepath.Join(store.Dir, "attachments"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("attachments directory has %d entries, want 1", len(entries))
	}
}

func TestListSkipsBrokenRecords(t *testing.T) {
	store := New(t.TempDir())
	if list, err := store.List(); err != nil || len(list) != 0 {
		t.Fatalf("List of an empty store = %v, %v", list, err)
	}
	for _, id := range []string{"c1", "c2"} {
		if err := store.Save(&Attachment{ContainerID: id, IfName: "net1"}); err != nil {
			t.Fatalf("Save: %v", err)
		}
	}
	broken := filepath.Join(store.Dir, "attachments", "c3:net1.json")
	if err := os.WriteFile(broken, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}

	list, err := store.List()
	if err == nil {
		t.Error("List returned no error for a broken record")
	}
	if len(list) != 2 {
		t.Errorf("List returned %d records, want 2", len(list))
	}
}

func TestInvalidNamesRejected(t *testing.T) {
	store := New(t.TempDir())
	for _, tc := range []struct{ containerID, ifname string }{
		{"", "net1"}, {"c", ""}, {"c/../x", "net1"}, {"c", "a:b"}, {"..", "net1"},
	} {
		if err := store.Save(&Attachment{ContainerID: tc.containerID, IfName: tc.ifname}); err == nil {
			t.Errorf("Save(%q, %q) succeeded", tc.containerID, tc.ifname)
		}
	}
}

func TestOwnerRecord(t *testing.T) {
	store := New(t.TempDir())
	if _, err := store.Owner(testVMI); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Owner before SetOwner: err = %v, want fs.ErrNotExist", err)
	}
	if err := store.SetOwner(testVMI, Owner{ContainerID: "c1", IfName: "net1"}); err != nil {
		t.Fatalf("SetOwner: %v", err)
	}
	if err := store.SetOwner(testVMI, Owner{ContainerID: "c2", IfName: "net1"}); err != nil {
		t.Fatalf("SetOwner: %v", err)
	}

	owner, err := store.Owner(testVMI)
	if err != nil {
		t.Fatalf("Owner: %v", err)
	}
	if !owner.Is("c2", "net1") {
		t.Errorf("owner = %+v, want c2/net1", owner)
	}
	if owner.Is("c1", "net1") {
		t.Errorf("owner %+v matches the replaced owner", owner)
	}

	if err := store.RemoveOwner(testVMI); err != nil {
		t.Fatalf("RemoveOwner: %v", err)
	}
	if _, err := store.Owner(testVMI); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Owner after RemoveOwner: err = %v, want fs.ErrNotExist", err)
	}
}

func TestLockExcludesSecondHolder(t *testing.T) {
	store := New(t.TempDir())
	first, err := store.LockVMI(context.Background(), testVMI)
	if err != nil {
		t.Fatalf("LockVMI: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if second, err := store.LockVMI(ctx, testVMI); err == nil {
		_ = second.Unlock()
		t.Fatal("second LockVMI succeeded while the first lock is held")
	}

	if err := first.UnlockAndRemove(); err != nil {
		t.Fatalf("UnlockAndRemove: %v", err)
	}
	if _, err := os.Stat(filepath.Join(store.Dir, "owners", testVMI+".lock")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("lock file still exists: %v", err)
	}
	again, err := store.LockVMI(context.Background(), testVMI)
	if err != nil {
		t.Fatalf("LockVMI after release: %v", err)
	}
	if err := again.Unlock(); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
}

func TestLockWaitsForRelease(t *testing.T) {
	store := New(t.TempDir())
	first, err := store.LockVMI(context.Background(), testVMI)
	if err != nil {
		t.Fatalf("LockVMI: %v", err)
	}
	released := make(chan error, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		released <- first.UnlockAndRemove()
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	second, err := store.LockVMI(ctx, testVMI)
	if err != nil {
		t.Fatalf("LockVMI while the holder releases: %v", err)
	}
	if err := <-released; err != nil {
		t.Fatalf("UnlockAndRemove: %v", err)
	}
	// The waiter must hold a lock on the file that exists now, not on the
	// inode the first holder removed.
	if _, err := os.Stat(filepath.Join(store.Dir, "owners", testVMI+".lock")); err != nil {
		t.Errorf("lock file of the second holder: %v", err)
	}
	if err := second.Unlock(); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
}
