; dbcomm's Windows installer. Built by installer/windows/build.py, which passes:
;   VERSION, VERSION4 (a.b.c.d), STAGE (the folder to install), OUTFILE, ICON, and SIGN_COMMAND
;   when the uninstaller is to be code-signed.
; Per-user install without administrator rights; the office's data (in %LOCALAPPDATA%\dbcomm) is
; kept on uninstall unless the person ticks the box, or IT staff pass /DELETEDATA with /S.

Unicode true
Target amd64-unicode
ManifestDPIAware true
RequestExecutionLevel user
SetCompressor /SOLID lzma
SetCompressorDictSize 32
AllowSkipFiles off

!include MUI2.nsh
!include FileFunc.nsh
!include LogicLib.nsh
!include Sections.nsh

!define APP "dbcomm"
!define APP_VI "dbcomm – Truyền thông xã hội học tập"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\dbcomm"
!define MUTEX "dbcomm-running"

Name "${APP} ${VERSION}"
OutFile "${OUTFILE}"
InstallDir "$LOCALAPPDATA\Programs\dbcomm"
InstallDirRegKey HKCU "Software\dbcomm" "InstallDir"
BrandingText "dbcomm ${VERSION}"
ShowInstDetails hide
ShowUninstDetails hide
SpaceTexts none

!ifdef SIGN_COMMAND
!uninstfinalize '${SIGN_COMMAND} "%1"'
!endif

VIProductVersion "${VERSION4}"
VIFileVersion "${VERSION4}"
VIAddVersionKey /LANG=1066 "ProductName" "dbcomm"
VIAddVersionKey /LANG=1066 "FileDescription" "Cài đặt ${APP_VI}"
VIAddVersionKey /LANG=1066 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=1066 "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=1066 "CompanyName" "dbcomm"
VIAddVersionKey /LANG=1066 "LegalCopyright" "GPL-3.0-or-later"

!define MUI_ICON "${ICON}"
!define MUI_UNICON "${ICON}"
!define MUI_ABORTWARNING
!define MUI_FINISHPAGE_RUN "$INSTDIR\dbcomm.exe"
!define MUI_FINISHPAGE_RUN_TEXT "$(RunNow)"
!define MUI_COMPONENTSPAGE_SMALLDESC
!define MUI_WELCOMEFINISHPAGE_BITMAP "${WIZARD_BMP}"
!define MUI_UNWELCOMEFINISHPAGE_BITMAP "${WIZARD_BMP}"
!define MUI_WELCOMEPAGE_TEXT "$(WelcomeText)"
!define MUI_UNFINISHPAGE_NOAUTOCLOSE
!define MUI_LANGDLL_ALLLANGUAGES
!define MUI_LANGDLL_WINDOWTITLE "Cài đặt dbcomm / dbcomm setup"
!define MUI_LANGDLL_INFO "Chọn ngôn ngữ của trình cài đặt.$\r$\nChoose the installer's language."
!define MUI_LANGDLL_REGISTRY_ROOT HKCU
!define MUI_LANGDLL_REGISTRY_KEY "Software\dbcomm"
!define MUI_LANGDLL_REGISTRY_VALUENAME "InstallerLanguage"

Var UnDone  ; the uninstaller's last words: whether the office's data was kept, and where

!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_COMPONENTS
!insertmacro MUI_UNPAGE_INSTFILES
!define MUI_FINISHPAGE_TEXT "$UnDone"
!insertmacro MUI_UNPAGE_FINISH

!insertmacro MUI_LANGUAGE "Vietnamese"
!insertmacro MUI_LANGUAGE "English"
!insertmacro MUI_RESERVEFILE_LANGDLL

LangString WelcomeText 1066 "Trình cài đặt sẽ cài dbcomm ${VERSION} cho tài khoản Windows của bạn — không cần quyền quản trị, không cần mạng.$\r$\n$\r$\nNếu máy đã có dbcomm, bản mới sẽ thay bản cũ; sổ hoạt động, báo cáo và bản sao lưu của cơ quan được giữ nguyên.$\r$\n$\r$\nNhấn Tiến để tiếp tục."
LangString WelcomeText 1033 "This will install dbcomm ${VERSION} for your Windows account — no administrator rights and no network needed.$\r$\n$\r$\nIf dbcomm is already installed, the new version replaces the old one; the office's register, reports and backups are kept.$\r$\n$\r$\nClick Next to continue."
LangString DataKept 1066 "Dữ liệu của cơ quan được giữ lại trong $LOCALAPPDATA\dbcomm (dùng lại khi cài lại dbcomm)."
LangString DataKept 1033 "The office's data is kept in $LOCALAPPDATA\dbcomm (used again if dbcomm is installed again)."
LangString UnDoneKept 1066 "dbcomm đã được gỡ khỏi máy tính.$\r$\n$\r$\nDữ liệu của cơ quan (sổ hoạt động, báo cáo, bản sao lưu) vẫn được giữ trong $LOCALAPPDATA\dbcomm và sẽ được dùng lại khi cài lại dbcomm."
LangString UnDoneKept 1033 "dbcomm has been removed from this computer.$\r$\n$\r$\nThe office's data (register, reports, backups) is kept in $LOCALAPPDATA\dbcomm and is used again if dbcomm is installed again."
LangString UnDoneDeleted 1066 "dbcomm và dữ liệu của cơ quan đã được xóa khỏi máy tính."
LangString UnDoneDeleted 1033 "dbcomm and the office's data have been removed from this computer."
LangString RunNow 1066 "Mở dbcomm ngay"
LangString RunNow 1033 "Start dbcomm now"
LangString StillRunning 1066 "dbcomm đang mở. Hãy đóng dbcomm (lưu công việc đang làm) rồi bấm Thử lại."
LangString StillRunning 1033 "dbcomm is open. Close dbcomm (save your work), then click Retry."
LangString NoWrite 1066 "Không ghi được vào thư mục $INSTDIR.$\r$\nHãy chọn một thư mục khác (ví dụ trong thư mục của bạn). Chưa có gì được cài đặt."
LangString NoWrite 1033 "Cannot write to the folder $INSTDIR.$\r$\nChoose another folder (for example inside your own folder). Nothing was installed."
LangString NoSpace 1066 "Ổ đĩa không đủ chỗ trống: cần khoảng $0 MB, còn $1 MB. Hãy giải phóng chỗ trống rồi cài lại. Chưa có gì được cài đặt."
LangString NoSpace 1033 "Not enough free space on the drive: about $0 MB is needed, $1 MB is free. Free some space and install again. Nothing was installed."
LangString InUse 1066 "Không thay được bản dbcomm cũ vì tệp của nó đang được dùng. Hãy đóng dbcomm và cài lại. Bản cũ vẫn giữ nguyên."
LangString InUse 1033 "The old dbcomm could not be replaced because its files are in use. Close dbcomm and install again. The old version is unchanged."
LangString ShortcutDesc 1066 "Ghi nhận hoạt động truyền thông và lập báo cáo Kế hoạch 386/KH-UBND"
LangString ShortcutDesc 1033 "Log communication activities and report on Plan 386/KH-UBND"
LangString SecProgram 1066 "Chương trình dbcomm"
LangString SecProgram 1033 "The dbcomm program"
LangString SecData 1066 "Xóa cả dữ liệu của cơ quan"
LangString SecData 1033 "Also delete the office's data"
LangString SecDataDesc 1066 "Sổ hoạt động, báo cáo, bản sao lưu. Không đánh dấu thì dữ liệu được giữ lại để dùng khi cài lại."
LangString SecDataDesc 1033 "Register, reports, backups. Leave unticked to keep them for a later installation."
LangString ConfirmData 1066 "Xóa vĩnh viễn toàn bộ dữ liệu của cơ quan trong $LOCALAPPDATA\dbcomm? Không thể hoàn tác."
LangString ConfirmData 1033 "Permanently delete all of the office's data in $LOCALAPPDATA\dbcomm? This cannot be undone."

Var new
Var old

!macro CHECK_NOT_RUNNING
  ${Do}
    System::Call 'kernel32::OpenMutexW(i 0x100000, i 0, w "${MUTEX}") p .r0'
    ${If} $0 P= 0
      ${Break}
    ${EndIf}
    System::Call 'kernel32::CloseHandle(p r0)'
    MessageBox MB_RETRYCANCEL|MB_ICONEXCLAMATION "$(StillRunning)" /SD IDCANCEL IDRETRY +3
    SetErrorLevel 3
    Quit
  ${Loop}
!macroend

Function .onInit
  !insertmacro CHECK_NOT_RUNNING
  StrCpy $LANGUAGE 1066  ; Vietnamese first, whatever the language of Windows
  !insertmacro MUI_LANGDLL_DISPLAY
FunctionEnd

Function .onInstFailed
  RMDir /r "$new"
FunctionEnd

Section "dbcomm" SecMain
  SectionIn RO
  StrCpy $new "$INSTDIR.new"
  StrCpy $old "$INSTDIR.old"
  RMDir /r "$new"
  RMDir /r "$old"

  ; Can we write there, and is there room? Said before anything is copied.
  ClearErrors
  CreateDirectory "$new"
  FileOpen $2 "$new\write-test.tmp" w
  ${If} ${Errors}
    MessageBox MB_OK|MB_ICONSTOP "$(NoWrite)" /SD IDOK
    RMDir /r "$new"
    SetErrorLevel 4
    Quit
  ${EndIf}
  FileClose $2
  Delete "$new\write-test.tmp"
  SectionGetSize ${SecMain} $0
  IntOp $0 $0 / 1024
  IntOp $0 $0 + 20
  ${GetRoot} "$INSTDIR" $3
  ${DriveSpace} "$3\" "/D=F /S=M" $1
  ${If} $1 < $0
    MessageBox MB_OK|MB_ICONSTOP "$(NoSpace)" /SD IDOK
    RMDir /r "$new"
    SetErrorLevel 5
    Quit
  ${EndIf}

  ; Everything goes to a new folder first; only a complete copy replaces the old one.
  SetOutPath "$new"
  File /r "${STAGE}\*.*"
  WriteUninstaller "$new\uninstall.exe"
  SetOutPath "$TEMP"

  ${If} ${FileExists} "$INSTDIR\*.*"
    ClearErrors
    Rename "$INSTDIR" "$old"
    ${If} ${Errors}
      MessageBox MB_OK|MB_ICONSTOP "$(InUse)" /SD IDOK
      RMDir /r "$new"
      SetErrorLevel 6
      Quit
    ${EndIf}
  ${EndIf}
  ClearErrors
  Rename "$new" "$INSTDIR"
  ${If} ${Errors}
    Rename "$old" "$INSTDIR"
    MessageBox MB_OK|MB_ICONSTOP "$(InUse)" /SD IDOK
    RMDir /r "$new"
    SetErrorLevel 6
    Quit
  ${EndIf}
  RMDir /r "$old"
  SetOutPath "$INSTDIR"

  CreateDirectory "$SMPROGRAMS\dbcomm"
  CreateShortCut "$SMPROGRAMS\dbcomm\${APP_VI}.lnk" "$INSTDIR\dbcomm.exe" "" "$INSTDIR\dbcomm.ico" 0 SW_SHOWNORMAL "" "$(ShortcutDesc)"
  CreateShortCut "$SMPROGRAMS\dbcomm\Gỡ cài đặt dbcomm.lnk" "$INSTDIR\uninstall.exe" "" "$INSTDIR\dbcomm.ico" 0
  CreateShortCut "$DESKTOP\${APP_VI}.lnk" "$INSTDIR\dbcomm.exe" "" "$INSTDIR\dbcomm.ico" 0 SW_SHOWNORMAL "" "$(ShortcutDesc)"

  WriteRegStr HKCU "Software\dbcomm" "InstallDir" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayName" "${APP_VI}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "Publisher" "dbcomm"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\dbcomm.ico"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKCU "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoRepair" 1
  SectionGetSize ${SecMain} $0
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "EstimatedSize" $0
SectionEnd

; --- the uninstaller ---------------------------------------------------------------------------


Section "un.$(SecProgram)" UnSecProgram
  SectionIn RO
  Delete "$SMPROGRAMS\dbcomm\${APP_VI}.lnk"
  Delete "$SMPROGRAMS\dbcomm\Gỡ cài đặt dbcomm.lnk"
  RMDir "$SMPROGRAMS\dbcomm"
  Delete "$DESKTOP\${APP_VI}.lnk"
  DeleteRegKey HKCU "${UNINSTALL_KEY}"
  DeleteRegKey HKCU "Software\dbcomm"
  SetOutPath "$TEMP"
  RMDir /r "$INSTDIR"
SectionEnd

Section /o "un.$(SecData)" UnSecData
  MessageBox MB_YESNO|MB_ICONEXCLAMATION "$(ConfirmData)" /SD IDYES IDYES +2
  Return
  RMDir /r "$LOCALAPPDATA\dbcomm"
SectionEnd

Section "-un.Said"
  ${If} ${FileExists} "$LOCALAPPDATA\dbcomm\*.*"
    DetailPrint "$(DataKept)"
    StrCpy $UnDone "$(UnDoneKept)"
  ${Else}
    StrCpy $UnDone "$(UnDoneDeleted)"
  ${EndIf}
SectionEnd

Function un.onInit
  !insertmacro MUI_UNGETLANGUAGE
  !insertmacro CHECK_NOT_RUNNING
  ; Silent uninstall keeps the data unless IT staff ask: uninstall.exe /S /DELETEDATA
  ${GetParameters} $0
  ClearErrors
  ${GetOptions} $0 "/DELETEDATA" $1
  ${IfNot} ${Errors}
    SectionSetFlags ${UnSecData} ${SF_SELECTED}
  ${EndIf}
FunctionEnd

!insertmacro MUI_UNFUNCTION_DESCRIPTION_BEGIN
  !insertmacro MUI_DESCRIPTION_TEXT ${UnSecData} "$(SecDataDesc)"
!insertmacro MUI_UNFUNCTION_DESCRIPTION_END
